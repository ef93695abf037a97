"""Alembic migrations on PostgreSQL and SQLite: up, down, up again, and in sync with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, column, inspect, table, text

import store.migrations.env_tables  # noqa: F401  (every table of the migrated schema)
from store import migrate
from store.db import create_engine
from store.tables import Base

EXPECTED = {
    "orders",
    "order_events",
    "order_lines",
    "locations",
    "skus",
    "stock_levels",
    "stock_movements",
    "reservations",
    "api_keys",
    "notifications",
}


SANDBOX_TABLES = {
    "sandbox_carrier_attempts",
    "sandbox_channel_pushes",
    "sandbox_labels",
    "sandbox_payment_authorizations",
    "sandbox_payment_operations",
    "sandbox_payment_requests",
    "sandbox_warehouse_releases",
}


async def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert EXPECTED <= await _tables(engine)
        head = await migrate.current_revision(engine)
        assert head is not None
        await migrate.downgrade(engine, "base")
        assert not (EXPECTED & await _tables(engine))
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == head
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(empty_db_url: str) -> None:
    """A model change without a migration fails here, on both databases."""
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata
                )
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        assert EXPECTED <= await _tables(engine)
    finally:
        await engine.dispose()


async def test_order_search_backfills_orders_stored_before_it(empty_db_url: str) -> None:
    """Search keys come from each order's document, shipment rows from its shipments JSON."""
    names = ("order_id", "channel", "external_id", "workflow_id", "status", "currency", "total")
    orders = table(
        "orders",
        *(column(c) for c in (*names, "hold", "version", "workflow_started")),
        *(column(c, JSON) for c in ("document", "shipments", "payments", "routing")),
    )
    shipped = {
        "shipment_id": "ord_a-S1",
        "location_id": "WH-EAST",
        "carrier": "ups",
        "tracking_number": "1Z1",
        "status": "shipped",
    }
    rows = [
        ("ord_a", "820982911946154508", {"email": "Jon@Example.com", "name": "John Smith"}, None),
        ("ord_b", "B-2", {"email": "b@example.com", "name": "Bea"}, "#1002"),
    ]
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine, "d4e5f6a7b8c9")
        async with engine.begin() as conn:
            await conn.execute(
                orders.insert(),
                [
                    {
                        "order_id": order_id,
                        "channel": "shopify",
                        "external_id": ext,
                        "workflow_id": f"order-shopify-{ext}",
                        "status": "shipped",
                        "currency": "USD",
                        "total": 10,
                        "hold": False,
                        "version": 3,
                        "workflow_started": True,
                        "document": {"customer": customer}
                        | ({"order_number": number} if number else {}),
                        "shipments": [shipped] if order_id == "ord_a" else [],
                        "payments": [],
                        "routing": {},
                    }
                    for order_id, ext, customer, number in rows
                ],
            )
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            keys = await conn.execute(
                text(
                    "SELECT order_id, order_number, search_number, search_external_id,"
                    " search_email, search_name FROM orders ORDER BY order_id"
                )
            )
            shipments = await conn.execute(
                text(
                    "SELECT shipment_id, order_id, location_id, carrier, tracking_number, status"
                    " FROM order_shipments"
                )
            )
            assert [tuple(k) for k in keys] == [
                ("ord_a", "820982911946154508", "820982911946154508", "820982911946154508",
                 "jon@example.com", "john smith"),
                ("ord_b", "#1002", "1002", "b-2", "b@example.com", "bea"),
            ]  # fmt: skip
            assert [tuple(s) for s in shipments] == [
                ("ord_a-S1", "ord_a", "WH-EAST", "ups", "1Z1", "shipped")
            ]
    finally:
        await engine.dispose()


async def test_head_has_no_sandbox_tables(empty_db_url: str) -> None:
    """The simulators' tables live in their own database, never in the OMS schema."""
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        assert not {t for t in await _tables(engine) if t.startswith("sandbox_")}
        # The revision before the drop had them (the downgrade recreates them as they were).
        await migrate.downgrade(engine, "e5f6a7b8c9d0")
        assert SANDBOX_TABLES <= await _tables(engine)
        await migrate.upgrade(engine)
        assert not {t for t in await _tables(engine) if t.startswith("sandbox_")}
    finally:
        await engine.dispose()
