"""The order timeline: idempotent appends, ordered reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.order_state import TimelineEvent
from store.dialect import insert_for
from store.tables import OrderEvent


async def append(session: AsyncSession, order_id: str, events: Sequence[TimelineEvent]) -> None:
    """Insert events; ones already stored (same key) are skipped, so retries are harmless."""
    await append_many(session, [(order_id, e) for e in events])


async def append_many(session: AsyncSession, events: Sequence[tuple[str, TimelineEvent]]) -> None:
    """`append` for events of several orders, in one statement."""
    if not events:
        return
    rows = [
        {"order_id": order_id, "event_key": e.key, "at": e.at, "type": e.type, "detail": e.detail}
        for order_id, e in events
    ]
    insert = insert_for(session)
    stmt = (
        insert(OrderEvent)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["order_id", "event_key"])
    )
    await session.execute(stmt)


async def timeline(session: AsyncSession, order_id: str) -> list[OrderEvent]:
    """Events of an order, oldest first."""
    result = await session.execute(
        select(OrderEvent)
        .where(OrderEvent.order_id == order_id)
        .order_by(OrderEvent.at, OrderEvent.id)
    )
    return list(result.scalars())
