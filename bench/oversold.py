"""Oversell checks: stock levels against reservations, read in one consistent snapshot."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.tables import Reservation, StockLevel


@dataclass(frozen=True)
class LevelCheck:
    """What one (sku, location) row says, and how far it breaks the rules."""

    sku: str
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int
    held: int
    committed: int

    def oversold(self, initial_on_hand: int, expected_reserved: int | None = None) -> int:
        """Units promised beyond what existed, plus any disagreement between the books.

        `held + committed` may not exceed what could ever be promised, availability may not go
        negative, and the level's `reserved` must equal the held reservations (or, for the raw
        path that writes no reservations, `expected_reserved`).
        """
        promisable = initial_on_hand - self.safety_stock
        over = max(0, self.held + self.committed - promisable)
        over += max(0, self.reserved - (self.on_hand - self.safety_stock))
        books = self.held if expected_reserved is None else expected_reserved
        return over + abs(self.reserved - books)


async def check_levels(engine: AsyncEngine, skus: Collection[str]) -> list[LevelCheck]:
    """Levels and reservation totals for `skus`, in one transaction (one snapshot)."""
    held = func.coalesce(func.sum(Reservation.quantity).filter(Reservation.status == "held"), 0)
    committed = func.coalesce(
        func.sum(Reservation.quantity).filter(Reservation.status == "committed"), 0
    )
    totals = (
        select(Reservation.sku, Reservation.location_id, held.label("held"), committed.label("c"))
        .group_by(Reservation.sku, Reservation.location_id)
        .subquery()
    )
    query = (
        select(
            StockLevel.sku,
            StockLevel.location_id,
            StockLevel.on_hand,
            StockLevel.reserved,
            StockLevel.safety_stock,
            func.coalesce(totals.c.held, 0),
            func.coalesce(totals.c.c, 0),
        )
        .outerjoin(
            totals,
            (totals.c.sku == StockLevel.sku) & (totals.c.location_id == StockLevel.location_id),
        )
        .where(StockLevel.sku.in_(list(skus)))
    )
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            rows = (await conn.execute(query)).all()
    return [LevelCheck(*(r[0], r[1]), *(int(x) for x in r[2:])) for r in rows]
