"""Read-model side of the sweeper: what an abandoned order still holds, and marking it done."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.order_state import TimelineEvent
from domain.timeline import EventType
from store import events as event_store
from store.tables import Backorder, Order, Reservation

# Statuses after which an order holds nothing (its workflow released it on the way).
FINISHED = ("cancelled", "failed", "completed", "returned", "delivered", "partially_returned")


async def order_for_workflow(session: AsyncSession, workflow_id: str) -> Order | None:
    """The order a workflow id belongs to."""
    return await session.scalar(select(Order).where(Order.workflow_id == workflow_id))


async def holds_anything(session: AsyncSession, order: Order) -> bool:
    """Whether the order still counts as open, holds stock, or waits in the backorder queue."""
    if order.status not in FINISHED:
        return True
    held = await session.scalar(
        select(func.count())
        .select_from(Reservation)
        .where(Reservation.order_id == order.order_id, Reservation.status == "held")
    )
    queued = await session.scalar(
        select(func.count()).select_from(Backorder).where(Backorder.order_id == order.order_id)
    )
    return bool(held or queued)


async def mark_released(
    session: AsyncSession, order_id: str, reason: str, details: list[dict[str, object]]
) -> None:
    """The order failed for good: say why on its timeline, and that its holds were released.

    The version moves past the workflow's last projection, so nothing overwrites this.
    """
    now = datetime.now(UTC)
    await session.execute(
        update(Order)
        .where(Order.order_id == order_id)
        .values(
            status="failed",
            failure_reason=reason,
            hold=False,
            version=Order.version + 1,
            updated_at=now,
        )
    )
    events = [
        TimelineEvent(key="sweep:failed", at=now, type=EventType.FAILED, detail={"reason": reason}),
        *(
            TimelineEvent(key=f"sweep:alert:{n}", at=now, type=EventType.ALERT, detail=detail)
            for n, detail in enumerate(details)
        ),
    ]
    await event_store.append(session, order_id, events)
