"""Read-model side of draft expiry: drafts past their time become `expired` (the sweeper)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.order_state import TimelineEvent
from domain.states import OrderStatus
from domain.timeline import EventType
from store import events as event_store
from store.draft_tables import DraftOrder
from store.tables import Order

DRAFT, EXPIRED = OrderStatus.DRAFT.value, OrderStatus.EXPIRED.value


async def expire_due(session: AsyncSession, now: datetime, limit: int = 500) -> list[str]:
    """Mark drafts whose time is up `expired`, oldest first (at most `limit`), forget their
    payment details and say so on their timelines; returns their order ids.

    The update is conditional on the row still being a draft, so a confirmation that won the
    race keeps its order; only the rows it changed get the event.
    """
    due = (
        select(DraftOrder.order_id)
        .join(Order, Order.order_id == DraftOrder.order_id)
        .where(Order.status == DRAFT, DraftOrder.expires_at <= now)
        .order_by(DraftOrder.expires_at)
        .limit(limit)
    )
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    expired = (
        await session.scalars(
            update(Order)
            .where(Order.order_id.in_(ids), Order.status == DRAFT)
            .values(status=EXPIRED, updated_at=now)
            .returning(Order.order_id)
        )
    ).all()
    if not expired:
        return []
    await session.execute(
        update(DraftOrder).where(DraftOrder.order_id.in_(expired)).values(payment=None)
    )
    expires = dict(
        (
            await session.execute(
                select(DraftOrder.order_id, DraftOrder.expires_at).where(
                    DraftOrder.order_id.in_(expired)
                )
            )
        ).all()
    )
    await event_store.append_many(
        session,
        [
            (
                order_id,
                TimelineEvent(
                    key="draft:expired",
                    at=now,
                    type=EventType.DRAFT_EXPIRED.value,
                    detail={"expired_at": expires[order_id].isoformat()},
                ),
            )
            for order_id in sorted(expired)
        ],
    )
    return sorted(expired)
