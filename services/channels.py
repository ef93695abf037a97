"""Channel ingestion: record every delivery, dedupe it, turn it into an order or a cancel.

One path serves webhooks, pulled marketplace orders and dead-letter replays, so a payload
behaves the same however it arrived. Nothing is lost: the raw body is stored before it is
interpreted, and whatever cannot become an order is kept as a dead letter for replay.

The answer is an `Outcome`, a business fact (accepted, duplicate, rejected, ...): the API turns
it into an HTTP response, the pull activity into counts. Requests that cannot be served raise
`domain.errors` (`Unavailable` while Temporal is unreachable, `NotFound`, `Refused`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from domain.commands import ActionRequest
from domain.errors import InvalidInput, NotFound, Refused, Unavailable
from domain.models import CanonicalOrder, order_id_for
from integrations.channels import registry
from integrations.channels.base import (
    UNMAPPED_SKU,
    CancelOrder,
    CreateOrder,
    MappingError,
    PaymentReceived,
)

# The order intake still lives under api/ (it moves to services/ on its own branch).
from services import connections
from services import orders as order_service
from store.channel_tables import ChannelDeadLetter, ChannelDelivery
from store.dialect import insert_for
from store.tables import Order, utcnow

log = structlog.get_logger(__name__)

# accepted: an order (new, or one we had); duplicate: a redelivery, answered from the ledger;
# cancelled: the channel's cancel took; ignored: nothing to do; rejected: the payload cannot
# become an order (bad mapping, unknown SKU, unshippable address); refused: the order's process
# said no (a cancel after shipping); deferred: too early (a cancel before its order).
# The last three leave a dead letter to replay.
Status = Literal["accepted", "duplicate", "cancelled", "ignored", "rejected", "refused", "deferred"]
# A redelivery of these is answered from the ledger; `received` means the first try crashed
# or is still running, so it is processed again (every step is idempotent).
FINAL = frozenset({"accepted", "cancelled", "ignored", "rejected", "refused", "deferred"})
DEAD_LETTERED = frozenset({"rejected", "refused", "deferred"})


@dataclass(frozen=True)
class Delivery:
    """A signed webhook delivery or a pulled order, as received."""

    channel: str
    delivery_id: str
    topic: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # The connected shop account it came through (None: the env-configured default account).
    connection_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery, and why (`reason`, and the payload `field` at fault)."""

    status: Status
    order_id: str | None = None
    created: bool = False
    reason: str = ""
    field: str | None = None
    dead_letter_id: int | None = None


async def receive(
    sessions: async_sessionmaker[AsyncSession],
    client: Client | None,
    settings: Settings,
    delivery: Delivery,
) -> Outcome:
    """Store the delivery, then act on it once; a repeat is answered from the ledger."""
    structlog.contextvars.bind_contextvars(
        channel=delivery.channel, delivery_id=delivery.delivery_id
    )
    seen = await _claim(sessions, delivery)
    if seen is not None and seen.status in FINAL:
        log.info("duplicate delivery", first_status=seen.status)
        return Outcome("duplicate", order_id=seen.order_id)
    if client is None:
        # Stored as `received`: the channel's retry (or a replay) processes it later.
        raise Unavailable("Temporal is not reachable; retry later", code="temporal_unavailable")
    outcome = await process(sessions, client, settings, delivery)
    async with sessions.begin() as session:
        await session.execute(
            update(ChannelDelivery)
            .where(
                ChannelDelivery.channel == delivery.channel,
                ChannelDelivery.delivery_id == delivery.delivery_id,
            )
            .values(status=outcome.status, order_id=outcome.order_id, processed_at=utcnow())
        )
    return outcome


async def _claim(
    sessions: async_sessionmaker[AsyncSession], delivery: Delivery
) -> ChannelDelivery | None:
    """Insert the ledger row; None when this is the first time, else the earlier row."""
    async with sessions.begin() as session:
        result = await session.execute(
            insert_for(session)(ChannelDelivery)
            .values(
                channel=delivery.channel,
                delivery_id=delivery.delivery_id,
                topic=delivery.topic,
                connection_id=delivery.connection_id,
                status="received",
                body=delivery.body,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return None
        return await session.scalar(
            select(ChannelDelivery).where(
                ChannelDelivery.channel == delivery.channel,
                ChannelDelivery.delivery_id == delivery.delivery_id,
            )
        )


async def process(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    delivery: Delivery,
    dead_letter_id: int | None = None,
) -> Outcome:
    """Interpret and act; a failure becomes (or updates) a dead letter with the reason."""
    try:
        action = registry.interpret(delivery.channel, delivery.topic, delivery.body)
        if isinstance(action, CreateOrder):
            outcome = await create(sessions, client, settings, delivery, action)
        elif isinstance(action, CancelOrder):
            outcome = await cancel(sessions, client, delivery, action)
        elif isinstance(action, PaymentReceived):
            outcome = await paid(sessions, client, delivery.channel, action.external_id)
        else:
            outcome = Outcome("ignored", reason=action.reason)
    except MappingError as err:
        outcome = Outcome("rejected", reason=err.reason, field=err.field)
    except InvalidInput as err:  # the intake's refusal: unknown SKU, unshippable address
        outcome = Outcome("rejected", reason=err.message, field=err.field)
    except RPCError as err:
        # The delivery stays `received` (or its dead letter open): delivered again, or
        # replayed, it is processed then.
        log.warning("temporal refused the start; retry later", error=str(err))
        raise Unavailable("could not start the order; retry", code="temporal_unavailable") from err
    if outcome.status in DEAD_LETTERED:
        log.warning("delivery dead-lettered", status=outcome.status, reason=outcome.reason)
        dl_id = await _dead_letter(sessions, delivery, outcome, dead_letter_id)
        return replace(outcome, dead_letter_id=dl_id)
    return outcome


async def create(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    delivery: Delivery,
    action: CreateOrder,
) -> Outcome:
    """Take the order in (lines named by listing are mapped to our SKUs first); a paid
    delivery of an order taken in unpaid releases it."""
    order = await _mapped(sessions, delivery.connection_id, action)
    created, row = await order_service.submit(
        sessions,
        client,
        settings,
        order,
        awaiting_payment=action.awaiting_payment,
        connection_id=delivery.connection_id,
    )
    if (
        not created
        and None not in (row.connection_id, delivery.connection_id)
        and (row.connection_id != delivery.connection_id)
    ):
        # Two connected sites numbering orders alike (WooCommerce ids are per site): never
        # treat one's order as a repeat of the other's.
        raise MappingError(
            "id",
            f"order {order.external_id} of {delivery.connection_id} collides with the one "
            f"taken from {row.connection_id}",
        )
    if not created and not action.awaiting_payment:
        await paid(sessions, client, delivery.channel, order.external_id)
    return Outcome("accepted", order_id=row.order_id, created=created)


async def _mapped(
    sessions: async_sessionmaker[AsyncSession], connection_id: str | None, action: CreateOrder
) -> CanonicalOrder:
    """The order with each line's SKU: its listing's in the connection's map (the map is what
    the shop's stock is pushed by, so it wins), else the line's own."""
    order = action.order
    if connection_id is None or not action.listings:
        mapped: dict[str, str] = {}
    else:
        async with sessions() as session:
            mapped = await connections.skus_for_listings(
                session, connection_id, sorted(set(action.listings.values()))
            )
    lines = []
    for index, line in enumerate(order.lines):
        listing = action.listings.get(line.line_id) or ""
        sku = mapped.get(listing) or (None if line.sku == UNMAPPED_SKU else line.sku)
        if sku is None:
            where = f"line_items[{index}].sku"
            if connection_id is None:
                raise MappingError(
                    where, "has no SKU, and no connected shop's listing map names it"
                )
            raise MappingError(
                where, f"has no SKU and listing {listing!r} is not mapped to one (map it, replay)"
            )
        lines.append(line if sku == line.sku else line.model_copy(update={"sku": sku}))
    return order.model_copy(update={"lines": lines})


async def paid(
    sessions: async_sessionmaker[AsyncSession], client: Client, channel: str, external_id: str
) -> Outcome:
    """The shop was paid: an order waiting for it goes on (a signal; harmless when not waiting)."""
    order_id = order_id_for(channel, external_id)
    async with sessions() as session:
        row = await session.get(Order, order_id)
    if row is None:
        return Outcome("deferred", order_id, reason=f"no order {external_id!r} yet")
    try:
        await client.get_workflow_handle(row.workflow_id).signal("payment_received")
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return Outcome("ignored", order_id, reason=f"order is {row.status}")
    log.info("payment at the shop noted", order_id=order_id)
    return Outcome("accepted", order_id)


async def cancel(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    delivery: Delivery,
    action: CancelOrder,
) -> Outcome:
    """Ask the order's workflow to cancel; answer as soon as it accepts or refuses.

    The `cancel` Update returns only after compensation has run (seconds). Its refusals all
    come from the validator, so waiting for ACCEPTED gives the same yes or no in milliseconds,
    which webhook senders need (Shopify allows five seconds).
    """
    order_id = order_id_for(delivery.channel, action.external_id)
    async with sessions() as session:
        row = await session.get(Order, order_id)
    if row is None:
        return Outcome("deferred", order_id, reason=f"no order {action.external_id!r} yet")
    if row.status == "cancelled":
        return Outcome("cancelled", order_id)
    handle = client.get_workflow_handle(row.workflow_id)
    try:
        await handle.start_update(
            "cancel",
            ActionRequest(reason=action.reason),
            # One update per delivery: a retried delivery joins the same update.
            id=f"{delivery.channel}-cancel-{delivery.delivery_id}"[:200],
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
        return Outcome("refused", order_id, reason=f"cancel refused: {reason}")
    except RPCError as err:
        if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise
        return Outcome("refused", order_id, reason=f"cancel refused: order is {row.status}")
    log.info("channel cancel accepted", order_id=order_id)
    return Outcome("cancelled", order_id)


async def _dead_letter(
    sessions: async_sessionmaker[AsyncSession],
    delivery: Delivery,
    outcome: Outcome,
    existing: int | None,
) -> int:
    async with sessions.begin() as session:
        if existing is not None:
            row = await session.get(ChannelDeadLetter, existing)
            if row is not None:
                row.reason, row.field, row.attempts = (
                    outcome.reason,
                    outcome.field,
                    row.attempts + 1,
                )
                return row.id
        row = ChannelDeadLetter(
            channel=delivery.channel,
            delivery_id=delivery.delivery_id,
            topic=delivery.topic,
            connection_id=delivery.connection_id,
            reason=outcome.reason,
            field=outcome.field,
            body=delivery.body,
            headers=delivery.headers,
            status="open",
            order_id=outcome.order_id,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        return row.id


async def replay(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    dead_letter_id: int,
) -> Outcome:
    """Process a dead letter again (after a catalogue or mapping fix); closes it on success."""
    async with sessions() as session:
        row = await session.get(ChannelDeadLetter, dead_letter_id)
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    if row.status != "open":
        raise Refused(f"dead letter {dead_letter_id} is {row.status}")
    delivery = Delivery(
        row.channel,
        row.delivery_id,
        row.topic,
        row.body,
        dict(row.headers),
        connection_id=row.connection_id,
    )
    outcome = await process(sessions, client, settings, delivery, dead_letter_id=row.id)
    if outcome.dead_letter_id is None:
        async with sessions.begin() as session:
            await session.execute(
                update(ChannelDeadLetter)
                .where(ChannelDeadLetter.id == row.id)
                .values(status="replayed", replayed_at=utcnow(), order_id=outcome.order_id)
            )
            await session.execute(
                update(ChannelDelivery)
                .where(
                    ChannelDelivery.channel == row.channel,
                    ChannelDelivery.delivery_id == row.delivery_id,
                )
                .values(status=outcome.status, order_id=outcome.order_id, processed_at=utcnow())
            )
        log.info("dead letter replayed", dead_letter_id=row.id, status=outcome.status)
    return outcome


async def list_dead_letters(
    session: AsyncSession, *, status: str | None, channel: str | None, limit: int
) -> list[ChannelDeadLetter]:
    """Dead letters, newest first."""
    stmt = select(ChannelDeadLetter)
    if status:
        stmt = stmt.where(ChannelDeadLetter.status == status)
    if channel:
        stmt = stmt.where(ChannelDeadLetter.channel == channel)
    stmt = stmt.order_by(ChannelDeadLetter.created_at.desc(), ChannelDeadLetter.id.desc())
    return list((await session.scalars(stmt.limit(limit))).all())
