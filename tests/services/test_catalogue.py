"""Catalogue services on both databases: a cycle count writes the ledger and the outbox exactly
as an adjustment of the same difference does, and a refused file writes neither."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalogue import ImportRejected
from services import catalogue
from services import inventory as stock
from store.db import session_factory
from store.tables import Sku, StockChange, StockMovement
from workers.seed import seed_demo


async def _written(engine: AsyncEngine) -> tuple[list[tuple[str, str, int, int]], list[str]]:
    """(movements as (sku, location, on-hand delta, reserved delta), outbox SKUs), in order."""
    async with session_factory(engine)() as session:
        moves = await session.execute(
            select(
                StockMovement.sku,
                StockMovement.location_id,
                StockMovement.on_hand_delta,
                StockMovement.reserved_delta,
            )
            .where(StockMovement.sku.in_(["MUG-12OZ", "CAP-BLK"]))
            .order_by(StockMovement.id)
        )
        changes = await session.scalars(select(StockChange.sku).order_by(StockChange.id))
        return [tuple(m) for m in moves.all()], list(changes)  # type: ignore[misc]


async def test_a_count_writes_what_an_adjustment_writes(migrated_engine: AsyncEngine) -> None:
    sessions = session_factory(migrated_engine)
    await seed_demo(sessions)
    async with sessions.begin() as session:  # the seed's own rows are not what we compare
        await session.execute(StockChange.__table__.delete())
        await session.execute(StockMovement.__table__.delete())
    await stock.adjust(
        sessions, None, sku="MUG-12OZ", location_id="WH-EAST", delta=-10, reason="broken"
    )
    adjusted = await _written(migrated_engine)
    assert adjusted == ([("MUG-12OZ", "WH-EAST", -10, 0)], ["MUG-12OZ"])

    body = b"sku,location_id,on_hand\nMUG-12OZ,WH-EAST,170\nCAP-BLK,WH-EAST,200\n"
    result = await catalogue.import_counts(sessions, None, body)
    assert (result.rows, result.changed, result.unchanged) == (2, 1, 1)
    moves, changes = await _written(migrated_engine)
    # The count of 170 after 190 recorded is the adjustment of -20 an operator would make.
    assert moves == [*adjusted[0], ("MUG-12OZ", "WH-EAST", -20, 0)]
    assert changes == ["MUG-12OZ", "MUG-12OZ"]  # CAP-BLK was right: the channels hear nothing

    with pytest.raises(ImportRejected) as refused:
        await catalogue.import_counts(
            sessions, None, b"sku,location_id,on_hand\nMUG-12OZ,WH-EAST,1\nNOPE,WH-EAST,1\n"
        )
    assert [(p.line, p.field) for p in refused.value.problems] == [(3, "sku")]
    assert await _written(migrated_engine) == (moves, changes)


async def test_a_large_sku_file_is_one_upsert_per_thousand_rows(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    rows = "".join(f"S-{i:04d},Item {i},1.50,100\n" for i in range(1500))
    event.listen(migrated_engine.sync_engine, "before_cursor_execute", note)
    try:
        result = await catalogue.import_skus(
            sessions, b"sku,name,price,weight_grams\n" + rows.encode()
        )
    finally:
        event.remove(migrated_engine.sync_engine, "before_cursor_execute", note)
    assert (result.created, result.updated) == (1500, 0)
    # Which SKUs exist (two chunks), then two multi-row upserts: no round trip per row.
    assert [s for s in statements if s in ("SELECT", "INSERT", "UPDATE")] == [
        "SELECT",
        "SELECT",
        "INSERT",
        "INSERT",
    ]
    async with sessions() as session:
        assert len(list(await session.scalars(select(Sku.sku)))) == 1500
