"""intake demand: order demand promised off network ATP, per-SKU totals, channel shares

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-02 22:10:00

Orders take their demand off network available-to-promise in the transaction that records
them; reservations turn it into location holds, and an order that ends returns what is open.
Scarce SKUs are shared out between the selling channels (`channel_allocations`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b8c9d0e1f2a3"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sku_demand",
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("open_units", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint("open_units >= 0", name="open_units_nonneg"),
    )
    op.create_table(
        "order_demand",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("line_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("wanted", sa.Integer(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.Column("open_units", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint("open_units >= 0", name="order_open_nonneg"),
        sa.CheckConstraint("open_units <= covered", name="order_open_le_covered"),
    )
    op.create_table(
        "channel_allocations",
        sa.Column("channel", sa.String(80), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("sold_at", UTC_TIME, nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint("units >= 0", name="allocation_nonneg"),
    )


def downgrade() -> None:
    op.drop_table("channel_allocations")
    op.drop_table("order_demand")
    op.drop_table("sku_demand")
