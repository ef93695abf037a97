"""Order use cases: take an order in (refusing up front what cannot be fulfilled), and send
ops changes to its running workflow. Called by the API, the dashboard and channel ingest.

Raises the domain errors of `domain/errors.py`; `api/errors.py` maps them to HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from domain.commands import ActionRequest, AddressChange, RerouteRequest
from domain.errors import (
    INPUT_ERRORS,
    AlreadyExists,
    InvalidInput,
    NotFound,
    OutOfStock,
    Refused,
)
from domain.models import CanonicalOrder, order_id_for, workflow_id_for
from domain.order_state import OrderState
from domain.states import NOT_PLACED
from domain.timings import OrderInput
from domain.validation import address_problems
from services.intake_writer import writer_for
from services.search import search_columns
from store import channel_shares
from store.db import readers
from store.demand import Uncovered, Wanted
from store.intake import Intake
from store.tables import Location, Order, Sku
from workflows.order.workflow import OrderWorkflow
from workflows.sweeper import sweep_schedule_id

log = structlog.get_logger(__name__)
FINISHED = ("cancelled", "failed", "completed", "returned")


def document_of(order: CanonicalOrder) -> dict[str, Any]:
    """What the read model keeps of the order: everything but the payment token."""
    doc = order.model_dump(mode="json")
    doc["payment"] = order.payment.model_dump(mode="json", exclude={"token"}, exclude_none=True)
    return doc


def check_serviceable(order: CanonicalOrder, settings: Settings) -> None:
    """Refuse, before any payment is touched, an order the business cannot ship."""
    country = order.ship_to.country
    if country not in settings.ship_to_countries:
        served = ", ".join(settings.ship_to_countries)
        raise InvalidInput(
            f"we do not ship to {country} (we ship to {served})",
            "ship_to.country",
            code="not_served",
        )
    if order.shipping_service not in settings.shipping_services:
        offered = ", ".join(settings.shipping_services)
        raise InvalidInput(
            f"{order.shipping_service!r} is not offered (offered: {offered})",
            "shipping_service",
            code="not_served",
        )


async def check_catalogue(session: AsyncSession, order: CanonicalOrder) -> None:
    """Refuse unknown SKUs and unshippable addresses up front, naming the field."""
    problems = address_problems(order.ship_to)
    if problems:
        field, message = problems[0]
        raise InvalidInput(message, field, code="invalid_address")
    skus = {line.sku for line in order.lines}
    known = set((await session.scalars(select(Sku.sku).where(Sku.sku.in_(skus)))).all())
    for index, line in enumerate(order.lines):
        if line.sku not in known:
            raise InvalidInput(
                f"unknown SKU {line.sku!r}", f"lines[{index}].sku", code="unknown_sku"
            )


def order_values(order: CanonicalOrder, connection_id: str | None = None) -> dict[str, Any]:
    """The `orders` row of a new order, as intake records it."""
    return {
        "order_id": order_id_for(order.channel, order.external_id),
        "channel": order.channel,
        "external_id": order.external_id,
        "workflow_id": workflow_id_for(order.channel, order.external_id),
        "status": "received",
        "currency": order.currency,
        "total": order.total,
        "document": document_of(order),
        "shipments": [],
        "payments": [],
        "routing": {},
        "version": 0,
        "workflow_started": False,
        "connection_id": connection_id,
        **search_columns(order),
    }


def out_of_stock(order: CanonicalOrder, short: list[Uncovered]) -> OutOfStock:
    """The refusal, naming the first line the network cannot cover."""
    index = {line.line_id: i for i, line in enumerate(order.lines)}
    first = min(short, key=lambda x: index.get(x.line_id, 0))
    wanted = order.lines[index.get(first.line_id, 0)].quantity
    return OutOfStock(
        f"{first.sku}: {wanted} wanted, {wanted - first.quantity} available across the network"
        f" (channel {order.channel!r} refuses orders stock cannot cover)",
        f"lines[{index.get(first.line_id, 0)}].quantity",
    )


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    order: CanonicalOrder,
    *,
    awaiting_payment: bool = False,
    connection_id: str | None = None,
) -> tuple[bool, Order]:
    """Record the order and start its workflow; (created, row). A repeat starts nothing.

    `awaiting_payment`: the shop has not been paid yet; the order reserves stock and waits
    for its `payment_received` signal before anything ships. `connection_id`: the connected
    shop it came from, which hears of its shipments, cancellation and refunds.
    """
    order_id = order_id_for(order.channel, order.external_id)
    workflow_id = workflow_id_for(order.channel, order.external_id)
    structlog.contextvars.bind_contextvars(order_id=order_id, workflow_id=workflow_id)
    check_serviceable(order, settings)
    values = order_values(order, connection_id)
    # A read: checked before the write transaction, so it holds no write lock meanwhile.
    async with readers(sessions)() as session:
        await check_catalogue(session, order)
    intake = Intake(
        values=values,
        lines=[Wanted(x.line_id, x.sku, x.quantity) for x in order.lines],
        # Network ATP drops now, before the workflow runs (store/demand.py).
        take_demand=settings.intake_reservation,
        refuse_short=order.channel in settings.refuse_short_channels,
        selling_key=channel_shares.selling_key(order.channel, connection_id),
    )
    recorded = await writer_for(sessions).record(intake)  # batched with concurrent intakes
    if recorded.refused:
        raise out_of_stock(order, recorded.short)
    if recorded.short:
        log.info("order short at intake", short={x.sku: x.quantity for x in recorded.short})
    created, row = recorded.created, recorded.row
    if row is None:  # same (channel, external id) is stored under its own id: cannot happen
        raise AlreadyExists("order exists under another id")
    # The workflow's first projection marks the row: until then a repeat starts it again
    # (USE_EXISTING makes that harmless); after, the mark keeps an order from starting anew
    # once Temporal's retention has forgotten its workflow id.
    if not row.workflow_started:
        await client.start_workflow(
            OrderWorkflow.run,
            OrderInput(
                order_id=order_id,
                order=order,
                timings=settings.timings(),
                return_rules=settings.return_rules(),
                awaiting_payment=awaiting_payment,
                connection_id=connection_id,
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        log.info("order workflow started", created=created)
    return created, row


# ---- ops changes ---------------------------------------------------------------------------------

Handle = WorkflowHandle[OrderWorkflow, OrderState]
T = TypeVar("T")


async def cancel(ctx: OpsContext, order_id: str, request: ActionRequest) -> OrderState:
    """Stop what has not shipped and undo it (409 when everything had shipped)."""
    return await ctx.send(order_id, lambda h: h.execute_update(OrderWorkflow.cancel, request))


async def hold(ctx: OpsContext, order_id: str, request: ActionRequest) -> OrderState:
    """Pause what has not shipped."""
    return await ctx.send(order_id, lambda h: h.execute_update(OrderWorkflow.hold, request))


async def release(ctx: OpsContext, order_id: str, request: ActionRequest) -> OrderState:
    """Resume a held order."""
    return await ctx.send(order_id, lambda h: h.execute_update(OrderWorkflow.release, request))


async def change_address(ctx: OpsContext, order_id: str, change: AddressChange) -> OrderState:
    """Ship somewhere else (until a label is bought)."""
    return await ctx.send(
        order_id, lambda h: h.execute_update(OrderWorkflow.change_address, change)
    )


async def reroute(ctx: OpsContext, order_id: str, request: RerouteRequest) -> OrderState:
    """Move unshipped work; the exclusions (known locations, not all of them) replace earlier
    ones, and an empty list clears them."""
    async with readers(ctx.sessions)() as session:
        await check_exclusions(session, request.exclude_locations)
    return await ctx.send(order_id, lambda h: h.execute_update(OrderWorkflow.reroute, request))


async def check_exclusions(session: AsyncSession, exclude: list[str]) -> None:
    """Every excluded location exists, and at least one active location is left to ship from."""
    rows = (await session.execute(select(Location.location_id, Location.active))).all()
    known = {location_id for location_id, _ in rows}
    for index, location_id in enumerate(exclude):
        if location_id not in known:
            raise InvalidInput(f"no location {location_id!r}", f"exclude_locations[{index}]")
    if not {location_id for location_id, active in rows if active} - set(exclude):
        raise InvalidInput(
            "excludes every active location; the order could ship from nowhere",
            "exclude_locations",
        )


class OpsContext:
    """What sending an ops change needs: the database, Temporal, and the settings."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings
    ) -> None:
        self.sessions, self.client, self.settings = sessions, client, settings

    async def send(self, order_id: str, send: Callable[[Handle], Awaitable[T]]) -> T:
        """Run an Update on the order's workflow; its refusal is `Refused` with the reason."""
        async with readers(self.sessions)() as session:
            row = await session.get(Order, order_id)
        if row is None:
            raise NotFound(f"no order {order_id!r}")
        if row.status in NOT_PLACED:  # no workflow to ask: a draft was never placed
            raise Refused(
                f"order {order_id} is a draft never placed (status {row.status}); "
                "there is no running order to act on"
            )
        structlog.contextvars.bind_contextvars(order_id=order_id, workflow_id=row.workflow_id)
        handle: Handle = self.client.get_workflow_handle_for(OrderWorkflow.run, row.workflow_id)
        try:
            return await send(handle)
        except WorkflowUpdateFailedError as err:
            raise _refusal(err) from err
        except RPCError as err:
            if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise
            raise await self._ended(row) from err

    async def _ended(self, row: Order) -> Refused:
        """The order's workflow is gone; one that ended without finishing is swept now."""
        if row.status in FINISHED:
            return Refused(f"order is {row.status}; its process has ended")
        try:
            await self.client.get_schedule_handle(
                sweep_schedule_id(self.settings.task_queue)
            ).trigger()
        except RPCError as err:  # the schedule runs every few minutes anyway
            log.warning("could not trigger the sweeper", error=str(err))
        return Refused(
            f"order is {row.status} but its process ended without finishing (terminated?); "
            "the sweeper is releasing what it held"
        )


def _refusal(err: WorkflowUpdateFailedError) -> InvalidInput | Refused:
    cause: BaseException | None = err.cause
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    kind = cause.type if isinstance(cause, ApplicationError) else None
    if kind in INPUT_ERRORS:
        return InvalidInput(message)
    return Refused(message)
