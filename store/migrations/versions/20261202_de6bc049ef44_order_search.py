"""order search: search keys on orders, order_shipments, both backfilled from the read model

Revision ID: de6bc049ef44
Revises: d4e5f6a7b8c9
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "de6bc049ef44"
down_revision = "d4e5f6a7b8c9"
branch_labels = None
depends_on = None

# Rows per backfill batch: bounds memory and each statement's parameter count.
BATCH = 500
SEARCH_COLUMNS = {
    "order_number": 64,
    "search_number": 64,
    "search_external_id": 128,
    "search_email": 254,
    "search_name": 200,
}
# Frozen copies of what the backfill reads and writes (the models may change later).
orders = sa.table(
    "orders",
    sa.column("order_id", sa.String),
    sa.column("external_id", sa.String),
    sa.column("document", sa.JSON),
    sa.column("shipments", sa.JSON),
    *(sa.column(name, sa.String) for name in SEARCH_COLUMNS),
)
order_shipments = sa.table(
    "order_shipments",
    sa.column("shipment_id", sa.String),
    sa.column("order_id", sa.String),
    sa.column("location_id", sa.String),
    sa.column("carrier", sa.String),
    sa.column("tracking_number", sa.String),
    sa.column("status", sa.String),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name, length in SEARCH_COLUMNS.items():
            batch_op.add_column(
                sa.Column(name, sa.String(length=length), server_default="", nullable=False)
            )
        batch_op.create_index("ix_orders_search_number", ["search_number"], unique=False)
        batch_op.create_index(
            "ix_orders_search_external_id", ["search_external_id"], unique=False
        )
        batch_op.create_index("ix_orders_search_email", ["search_email"], unique=False)
        # PostgreSQL only; empty on SQLite (see store/tables.py).
        batch_op.create_index(
            "ix_orders_search_name_trgm",
            ["search_name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
            sqlite_where=sa.text("0"),
        )
        batch_op.create_index(
            "ix_orders_order_id_prefix",
            ["order_id"],
            unique=False,
            postgresql_ops={"order_id": "varchar_pattern_ops"},
            sqlite_where=sa.text("0"),
        )
    op.create_table(
        "order_shipments",
        sa.Column("shipment_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("tracking_number", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
            name=op.f("fk_order_shipments_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_order_shipments")),
    )
    with op.batch_alter_table("order_shipments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_shipments_location_order", ["location_id", "order_id"], unique=False
        )
        batch_op.create_index("ix_order_shipments_order", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_order_shipments_tracking_number", ["tracking_number"], unique=False
        )
    _backfill()


def _fold(value: Any) -> str:
    # services.search.fold at the time of this migration.
    return str(value or "").strip().casefold()


def _search_values(row: Any) -> dict[str, str]:
    doc = row.document or {}
    customer = doc.get("customer") or {}
    number = str(doc.get("order_number") or row.external_id)
    values = {
        "order_number": number,
        "search_number": _fold(number).lstrip("#").strip(),
        "search_external_id": _fold(row.external_id),
        "search_email": _fold(customer.get("email")),
        "search_name": _fold(customer.get("name")),
    }
    return {k: v[: SEARCH_COLUMNS[k]] for k, v in values.items()}


def _shipment_rows(row: Any) -> list[dict[str, Any]]:
    return [
        {
            "shipment_id": str(s["shipment_id"]),
            "order_id": row.order_id,
            "location_id": str(s.get("location_id") or ""),
            "carrier": s.get("carrier"),
            "tracking_number": s.get("tracking_number"),
            "status": str(s.get("status") or "pending"),
        }
        for s in (row.shipments or [])
        if isinstance(s, dict) and s.get("shipment_id")
    ]


def _backfill() -> None:
    """Search keys and shipment rows of the orders already stored, a batch at a time."""
    bind = op.get_bind()
    update = (
        orders.update()
        .where(orders.c.order_id == sa.bindparam("b_order_id"))
        .values({name: sa.bindparam(f"b_{name}") for name in SEARCH_COLUMNS})
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(orders.c.order_id, orders.c.external_id, orders.c.document, orders.c.shipments)
            .where(orders.c.order_id > last)
            .order_by(orders.c.order_id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            update,
            [
                {"b_order_id": r.order_id, **{f"b_{k}": v for k, v in _search_values(r).items()}}
                for r in rows
            ],
        )
        shipments = [s for r in rows for s in _shipment_rows(r)]
        if shipments:
            bind.execute(order_shipments.insert(), shipments)
        last = rows[-1].order_id


def downgrade() -> None:
    op.drop_table("order_shipments")
    for index in (
        "ix_orders_order_id_prefix",
        "ix_orders_search_name_trgm",
        "ix_orders_search_email",
        "ix_orders_search_external_id",
        "ix_orders_search_number",
    ):
        op.drop_index(index, table_name="orders")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy of `orders`: with
    # foreign keys on, dropping the old copy would cascade into order_lines.
    for name in reversed(SEARCH_COLUMNS):
        op.drop_column("orders", name)
