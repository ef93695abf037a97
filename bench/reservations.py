"""Reservations on one hot SKU: the project's path vs a raw conditional UPDATE, per database.

The project's path is `store.inventory.reserve` inside a transaction, exactly as the
`reserve_stock` activity runs it (reservation row, movement row, idempotency check). The raw path
is the single `UPDATE ... WHERE available >= q` it is built around. Demand exceeds stock, so
both paths also lose races, and the books are checked for overselling afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.oversold import check_levels
from bench.progress import Bar
from bench.stats import geomean, rate, ratio
from store import inventory, migrate
from store.db import create_engine, session_factory
from store.inventory import Hold, InsufficientStock
from store.tables import Location, Sku, StockLevel

LOCATION = "BENCH-HOT"
PROJECT_SKU, RAW_SKU = "HOT-PROJECT", "HOT-RAW"
SAFETY = 0
RAW_UPDATE = text(
    "UPDATE stock_levels SET reserved = reserved + :q "
    "WHERE sku = :sku AND location_id = :loc AND on_hand - reserved - safety_stock >= :q"
)


@asynccontextmanager
async def throwaway_postgres(admin_url: str) -> AsyncIterator[str]:
    """A new database next to `admin_url`'s, dropped on exit."""
    name = f"oms_bench_{uuid.uuid4().hex[:10]}"
    base = admin_url.rsplit("/", 1)[0]
    admin = create_engine(f"{base}/postgres")
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{base}/{name}"
    finally:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _seed(engine: AsyncEngine, stock: int) -> None:
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        session.add(
            Location(
                location_id=LOCATION,
                name="Bench hot location",
                kind="warehouse",
                lat=40.0,
                lon=-75.0,
                postal_code="07102",
                region="NJ",
                country="US",
                daily_capacity=1_000_000,
                active=True,
            )
        )
        for sku in (PROJECT_SKU, RAW_SKU):
            session.add(Sku(sku=sku, name=sku, weight_grams=100, price=Decimal("1.00")))
        await session.flush()
        for sku in (PROJECT_SKU, RAW_SKU):
            session.add(
                StockLevel(
                    sku=sku,
                    location_id=LOCATION,
                    on_hand=0,
                    reserved=0,
                    safety_stock=SAFETY,
                    inbound=0,
                )
            )
            await session.flush()
            await inventory.adjust(session, sku, LOCATION, stock, "bench", kind="receipt")


async def _hammer(
    attempts: int, clients: int, attempt: Callable[[int], Awaitable[bool]], bar: Bar
) -> tuple[int, float]:
    """`attempts` reservations from `clients` concurrent clients -> (successes, seconds)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(attempts):
        queue.put_nowait(i)
    won = 0

    async def client() -> None:
        nonlocal won
        while not queue.empty():
            i = queue.get_nowait()
            ok = await attempt(i)  # not `won += await ...`: that reads `won` before awaiting
            won += ok
            bar.update()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return won, time.perf_counter() - started


async def _one_database(
    name: str, url: str, attempts: int, stock: int, clients: int
) -> dict[str, Any]:
    engine = create_engine(url, pool_size=clients)
    try:
        await _seed(engine, stock)
        sessions = session_factory(engine)
        run = uuid.uuid4().hex[:6]

        async def project(i: int) -> bool:
            try:
                async with sessions.begin() as session:
                    await inventory.reserve(
                        session, f"b{run}-{i}", [Hold("1", PROJECT_SKU, LOCATION, 1)]
                    )
            except InsufficientStock:
                return False
            return True

        async def raw(i: int) -> bool:
            async with engine.begin() as conn:
                result = await conn.execute(RAW_UPDATE, {"q": 1, "sku": RAW_SKU, "loc": LOCATION})
            return bool(result.rowcount == 1)

        with Bar(f"reserve {name}", 2 * attempts) as bar:
            project_won, project_s = await _hammer(attempts, clients, project, bar)
            raw_won, raw_s = await _hammer(attempts, clients, raw, bar)
        levels = {c.sku: c for c in await check_levels(engine, [PROJECT_SKU, RAW_SKU])}
        oversold = levels[PROJECT_SKU].oversold(stock) + levels[RAW_SKU].oversold(
            stock, expected_reserved=raw_won
        )
        oversold += max(0, project_won - stock) + max(0, raw_won - stock)
        project_rate, raw_rate = rate(attempts, project_s), rate(attempts, raw_s)
        return {
            "attempts": attempts,
            "clients": clients,
            "stock": stock,
            "project_per_s": project_rate,
            "raw_per_s": raw_rate,
            "project_won": project_won,
            "raw_won": raw_won,
            "reservation_vs_raw": ratio(project_rate, raw_rate),
            "oversold": oversold,
        }
    finally:
        await engine.dispose()


async def run_reservations(
    workdir: Path, postgres_admin_url: str | None, attempts: int, stock: int, clients: int
) -> dict[str, Any]:
    """Both databases (PostgreSQL when reachable); overall ratio is their geometric mean."""
    per_db: dict[str, Any] = {}
    sqlite_url = f"sqlite+aiosqlite:///{workdir / 'reservations.sqlite3'}"
    per_db["sqlite"] = await _one_database("sqlite", sqlite_url, attempts, stock, clients)
    if postgres_admin_url:
        try:
            async with throwaway_postgres(postgres_admin_url) as url:
                per_db["postgresql"] = await _one_database(
                    "postgresql", url, attempts, stock, clients
                )
        except Exception as err:  # unreachable or refused: report, do not fail the run
            per_db["postgresql"] = {"skipped": f"PostgreSQL not reachable: {err}"}
    measured = [v for v in per_db.values() if "oversold" in v]
    return {
        "databases": per_db,
        "reservation_vs_raw": geomean([v["reservation_vs_raw"] for v in measured]),
        "oversold": sum(v["oversold"] for v in measured),
    }
