"""channel connections: shop accounts, their listing map and the stock shown there

Revision ID: a7b8c9d0e1f2
Revises: f1c2a3b4d5e6
Create Date: 2026-12-02 15:00:00

Connected Shopify stores and WooCommerce sites (credentials sealed with the payload key), the
map from each shop's items to our SKUs, the availability last set per shop location, and the
connection an order, delivery or dead letter came through.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a7b8c9d0e1f2"
down_revision = "f1c2a3b4d5e6"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_connections",
        sa.Column("connection_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("shop_domain", sa.String(255), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("last_sync_at", UTC_TIME, nullable=True),
        sa.Column("orders_read_to", UTC_TIME, nullable=True),
        sa.Column("last_pull_at", UTC_TIME, nullable=True),
        sa.Column("last_push_at", UTC_TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UTC_TIME, nullable=True),
    )
    op.create_index("ix_channel_connections_shop_domain", "channel_connections", ["shop_domain"])
    op.create_table(
        "shop_listings",
        sa.Column("connection_id", sa.String(64), primary_key=True),
        sa.Column("listing_id", sa.String(128), primary_key=True),
        sa.Column("inventory_item_id", sa.String(128), nullable=False),
        sa.Column("parent_id", sa.String(128), nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("shop_sku", sa.String(255), nullable=True),
        sa.Column("barcode", sa.String(255), nullable=True),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("mapped_by", sa.String(16), nullable=True),
        sa.Column("synced_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_shop_listings_sku", "shop_listings", ["connection_id", "sku"])
    op.create_table(
        "shop_stock_levels",
        sa.Column("connection_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("location_ref", sa.String(128), primary_key=True),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("pushed_at", UTC_TIME, nullable=False),
        sa.Column("lag_ms", sa.Integer(), nullable=False),
    )
    for table in ("channel_deliveries", "channel_dead_letters", "orders"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("connection_id", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in ("orders", "channel_dead_letters", "channel_deliveries"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("connection_id")
    op.drop_table("shop_stock_levels")
    op.drop_index("ix_shop_listings_sku", table_name="shop_listings")
    op.drop_table("shop_listings")
    op.drop_index("ix_channel_connections_shop_domain", table_name="channel_connections")
    op.drop_table("channel_connections")
