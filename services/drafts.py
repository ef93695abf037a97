"""Draft orders: stored and editable, placed only when confirmed.

`POST /v1/orders` with `"draft": true` records the order (status `draft`) as intake would, but
takes no stock off network ATP, counts no sale, touches no payment and starts no workflow.
Until it is confirmed it can be edited (`apply_change`, the same `OrderChange` a running order
takes, with nothing to pay or reserve). `confirm` places it: the intake's demand and refusal
rules, then the order's workflow with the stored document. A draft left longer than
`OMS_DRAFT_TTL_S` (scaled by the time scale) expires: the sweeper marks it `expired`, and it
can no longer be confirmed.

Raises the domain errors of `domain/errors.py`; `api/errors.py` maps them to HTTP.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from config.settings import Settings
from domain.errors import InvalidInput, NotFound, Refused
from domain.models import CanonicalOrder, order_id_for
from domain.order_changes import (
    Actor,
    ChangePlan,
    LineDelta,
    OrderChange,
    PaymentPlan,
    changed_order,
    new_quantities,
)
from domain.order_state import TimelineEvent
from domain.states import OrderStatus
from domain.timeline import EventType
from domain.timings import OrderInput
from services.orders import (
    check_catalogue,
    check_serviceable,
    document_of,
    order_values,
    out_of_stock,
)
from store import channel_shares, demand
from store import events as event_store
from store.db import readers
from store.demand import Wanted
from store.dialect import insert_for
from store.draft_tables import DraftOrder
from store.tables import Order, OrderLine, utcnow
from workflows.order.workflow import OrderWorkflow

log = structlog.get_logger(__name__)
DRAFT, EXPIRED = OrderStatus.DRAFT.value, OrderStatus.EXPIRED.value


# ---- create ------------------------------------------------------------------------------------


async def create(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    order: CanonicalOrder,
    *,
    actor: Actor | None = None,
) -> tuple[bool, Order]:
    """Store the order as a draft; (created, row). The same (channel, external id) again
    returns what is stored under it (a draft, or the order it became) and writes nothing."""
    order_id = order_id_for(order.channel, order.external_id)
    structlog.contextvars.bind_contextvars(order_id=order_id)
    check_serviceable(order, settings)
    async with readers(sessions)() as session:
        await check_catalogue(session, order)
    now = utcnow()
    expires_at = now + settings.timings().scaled(settings.draft_ttl_s)
    async with sessions.begin() as session:
        inserted = await session.scalar(
            insert_for(session)(Order)
            .values({**order_values(order), "status": DRAFT})
            .on_conflict_do_nothing()
            .returning(Order.order_id)
        )
        if inserted is None:
            row = await session.get(Order, order_id)
            if row is None:  # same (channel, external id) stored under another id: cannot happen
                raise Refused("order exists under another id")
            return False, row
        await _write_lines(session, order_id, order)
        session.add(
            DraftOrder(
                order_id=order_id,
                payment=order.payment.model_dump(mode="json"),
                expires_at=expires_at,
                created_at=now,
            )
        )
        detail = {"total": str(order.total), "lines": len(order.lines)}
        detail["expires_at"] = expires_at.isoformat()
        await _event(session, order_id, EventType.DRAFT_CREATED, detail, actor, at=now)
        row = await session.get(Order, order_id)
    assert row is not None
    log.info("draft stored", expires_at=expires_at.isoformat())
    return True, row


# ---- edit --------------------------------------------------------------------------------------


async def apply_change(
    sessions: async_sessionmaker[AsyncSession],
    order_id: str,
    change: OrderChange,
    *,
    preview: bool,
) -> ChangePlan:
    """Edit a draft (a line cancel or an edit): the plan of the change, and unless `preview`
    the draft rewritten (its document, lines and total) with a timeline entry naming who.

    A draft pays and reserves nothing, so the plan's payment is always "none". Refused when
    the order is not a draft (any more): confirmed, expired, or never one.
    """
    if preview:
        async with readers(sessions)() as session:
            _, _, plan = await _plan(session, order_id, change, lock=False)
        return plan
    async with sessions.begin() as session:
        row, _, plan = await _plan(session, order_id, change, lock=True)
        now = utcnow()
        row.document = document_of(plan.order)
        row.total = plan.after_total
        row.updated_at = now
        await session.execute(delete(OrderLine).where(OrderLine.order_id == order_id))
        await _write_lines(session, order_id, plan.order)
        detail: dict[str, Any] = {
            "change": change.kind,
            "reason": change.reason,
            "lines": [d.model_dump() for d in plan.lines],
            "total_before": str(plan.before_total),
            "total_after": str(plan.after_total),
        }
        if change.shipping_service is not None:
            detail["shipping_service"] = change.shipping_service
        await _event(session, order_id, EventType.DRAFT_EDITED, detail, change.actor, at=now)
    log.info("draft edited", order_id=order_id, total=str(plan.after_total))
    return plan


async def _plan(
    session: AsyncSession, order_id: str, change: OrderChange, *, lock: bool
) -> tuple[Order, DraftOrder, ChangePlan]:
    row, draft = await _draft(session, order_id, lock=lock)
    _refuse_unless_open(row, draft)
    order = stored_order(row, draft)
    current = {line.line_id: line for line in order.lines}
    for line_id in [*change.quantities, *change.cancel]:
        if line_id not in current:
            raise InvalidInput(f"the draft has no line {line_id!r}", "lines")
    for line_id, units in change.cancel.items():
        if units > current[line_id].quantity:  # the draft changed since the caller read it
            raise InvalidInput(
                f"line {line_id}: {units} to take off but {current[line_id].quantity} ordered",
                "lines",
            )
    deltas = [
        LineDelta(
            line_id=line_id, sku=current[line_id].sku, before=current[line_id].quantity, after=after
        )
        for line_id, after in new_quantities(order, change).items()
        if after != current[line_id].quantity
    ]
    for i, added in enumerate(change.add):
        if added.line_id in current:
            raise InvalidInput(
                f"line {added.line_id!r} exists; set its quantity instead", f"add[{i}]"
            )
        deltas.append(
            LineDelta(line_id=added.line_id, sku=added.sku, before=0, after=added.quantity)
        )
    new = changed_order(order, change)
    if not new.lines:
        raise InvalidInput(
            "a draft keeps at least one line (one not confirmed simply expires)", "lines"
        )
    try:  # the result must be an order the intake would take (unique line ids, sizes, ...)
        new = CanonicalOrder.model_validate(new.model_dump())
    except ValidationError as err:
        first = err.errors()[0]
        raise InvalidInput(str(first.get("msg", "invalid")), "lines") from err
    if not deltas and new.total == order.total and new.shipping_service == order.shipping_service:
        raise Refused("the change changes nothing")
    await check_catalogue(session, new)  # added SKUs must exist
    plan = ChangePlan(
        order=new,
        before_total=order.total,
        after_total=new.total,
        payment=PaymentPlan(action="none"),
        lines=deltas,
    )
    return row, draft, plan


# ---- confirm -----------------------------------------------------------------------------------


async def confirm(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    order_id: str,
    *,
    actor: Actor | None = None,
) -> tuple[bool, Order]:
    """Place a draft: take its demand as intake does (refusing, for the channels that refuse,
    what stock cannot cover) and start its workflow with the stored document; (confirmed now,
    row). A repeat starts nothing; an expired draft, or an order that never was one, is refused.
    """
    structlog.contextvars.bind_contextvars(order_id=order_id)
    async with sessions.begin() as session:
        row, draft = await _draft(session, order_id, lock=True)
        if row.status in (DRAFT, EXPIRED):
            _refuse_unless_open(row, draft)
        order = stored_order(row, draft)
        confirmed = row.status == DRAFT
        if confirmed:
            check_serviceable(order, settings)
            await check_catalogue(session, order)
            await _take_demand(session, order, settings)
            now = utcnow()
            row.status, row.updated_at, draft.confirmed_at = OrderStatus.RECEIVED.value, now, now
            detail = {"total": str(order.total), "lines": len(order.lines)}
            await _event(session, order_id, EventType.DRAFT_CONFIRMED, detail, actor, at=now)
    # As at intake: until the workflow's first projection marks the row, a repeat starts it
    # (USE_EXISTING makes that harmless), so a crash right here loses nothing.
    if not row.workflow_started:
        await client.start_workflow(
            OrderWorkflow.run,
            OrderInput(
                order_id=order_id,
                order=order,
                timings=settings.timings(),
                return_rules=settings.return_rules(),
            ),
            id=row.workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        log.info("draft confirmed; order workflow started", confirmed=confirmed)
    return confirmed, row


async def _take_demand(session: AsyncSession, order: CanonicalOrder, settings: Settings) -> None:
    """What `submit`'s intake does for a new order, in the confirmation's transaction."""
    order_id = order_id_for(order.channel, order.external_id)
    lines = [Wanted(x.line_id, x.sku, x.quantity) for x in order.lines]
    if settings.intake_reservation:
        left = await demand.lock_network(session, {x.sku for x in lines})
        taken = demand.cover(order_id, lines, left)
        if taken.short and order.channel in settings.refuse_short_channels:
            raise out_of_stock(order, taken.short)  # rolls back: the draft stays a draft
        await demand.record_promises(session, [taken])
        if taken.short:
            log.info("draft short at confirmation", short={x.sku: x.quantity for x in taken.short})
    key = channel_shares.selling_key(order.channel, None)
    await channel_shares.count_sales(session, [(key, x.sku, x.quantity) for x in lines])


# ---- shared --------------------------------------------------------------------------------------


def stored_order(row: Order, draft: DraftOrder) -> CanonicalOrder:
    """The draft's order as it will be placed: its document and the payment method as sent."""
    if draft.payment is None:
        raise Refused(f"the draft {row.order_id} expired; its payment details are gone")
    return CanonicalOrder.model_validate({**row.document, "payment": draft.payment})


async def _draft(session: AsyncSession, order_id: str, *, lock: bool) -> tuple[Order, DraftOrder]:
    stmt = select(Order).where(Order.order_id == order_id)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    found = select(DraftOrder).where(DraftOrder.order_id == order_id)
    draft = await session.scalar(found.with_for_update() if lock else found)
    if draft is None:
        raise Refused(
            f"order {order_id} is not a draft: it was placed as an order (status {row.status})",
            code="not_a_draft",
        )
    return row, draft


def _refuse_unless_open(row: Order, draft: DraftOrder) -> None:
    """A draft that can still be edited or confirmed, or the reason it cannot."""
    if row.status == EXPIRED or (row.status == DRAFT and draft.expires_at <= utcnow()):
        raise Refused(
            f"the draft expired at {draft.expires_at.strftime('%Y-%m-%d %H:%M:%S')} UTC; "
            "create it again",
            code="draft_expired",
        )
    if row.status != DRAFT:
        raise Refused(
            f"order {row.order_id} is no longer a draft: it was confirmed (status {row.status})",
            code="not_a_draft",
        )


async def _write_lines(session: AsyncSession, order_id: str, order: CanonicalOrder) -> None:
    """The order's `order_lines` (what the list's SKU filter reads)."""
    await session.execute(
        insert(OrderLine),
        [
            {"order_id": order_id, "line_id": x.line_id, "sku": x.sku, "quantity": x.quantity}
            for x in order.lines
        ],
    )


async def _event(
    session: AsyncSession,
    order_id: str,
    kind: EventType,
    detail: dict[str, Any],
    actor: Actor | None,
    *,
    at: datetime,
) -> None:
    """Append one timeline entry (with who did it, when known)."""
    if actor is not None:
        detail = {**detail, "actor": actor.model_dump()}
    key = f"draft:{kind.value}:{uuid.uuid4().hex}"
    event = TimelineEvent(key=key, at=at, type=kind.value, detail=detail)
    await event_store.append(session, order_id, [event])
