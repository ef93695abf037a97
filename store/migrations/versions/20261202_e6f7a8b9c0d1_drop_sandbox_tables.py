"""drop the sandbox_* tables: the simulators keep their state in their own database

Revision ID: e6f7a8b9c0d1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-02 09:00:00

Simulated gateway, carrier, warehouse and channel state now lives in the sandbox database
(`OMS_SANDBOX_DATABASE_URL`, `sandbox/db.py`), which is no part of the production schema. Rows
left in these tables are not carried over: they only described simulated services. The downgrade
recreates the tables as they were, empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e6f7a8b9c0d1"
down_revision = "e5f6a7b8c9d0"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
TABLES = [
    "sandbox_channel_pushes",
    "sandbox_warehouse_releases",
    "sandbox_payment_requests",
    "sandbox_payment_operations",
    "sandbox_payment_authorizations",
    "sandbox_labels",
    "sandbox_carrier_attempts",
]


def upgrade() -> None:
    # A table's indexes go with it, on PostgreSQL and SQLite alike.
    for table in TABLES:
        op.drop_table(table)


def downgrade() -> None:
    op.create_table(
        "sandbox_carrier_attempts",
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "carrier", "idempotency_key", name=op.f("pk_sandbox_carrier_attempts")
        ),
    )
    op.create_table(
        "sandbox_labels",
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("rate_id", sa.String(length=64), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=False),
        sa.Column("ship_from", sa.JSON(), nullable=False),
        sa.Column("ship_to", sa.JSON(), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("zpl", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("voided_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("label_id", name=op.f("pk_sandbox_labels")),
        sa.UniqueConstraint("carrier", "idempotency_key", name="uq_sandbox_labels_carrier_key"),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_sandbox_labels_tracking_number")),
    )
    op.create_table(
        "sandbox_payment_authorizations",
        sa.Column("authorization_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("token", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("captured_cents", sa.BigInteger(), nullable=False),
        sa.Column("refunded_cents", sa.BigInteger(), nullable=False),
        sa.Column("voided_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "authorization_id", name=op.f("pk_sandbox_payment_authorizations")
        ),
    )
    op.create_table(
        "sandbox_payment_operations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.String(length=64), nullable=False),
        sa.Column("authorization_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_payment_operations")),
        sa.UniqueConstraint(
            "operation_id", name=op.f("uq_sandbox_payment_operations_operation_id")
        ),
    )
    op.create_table(
        "sandbox_payment_requests",
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_sandbox_payment_requests")),
    )
    op.create_table(
        "sandbox_warehouse_releases",
        sa.Column("release_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("shipment_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("released_at", UTC_TIME, nullable=False),
        sa.Column("picked_at", UTC_TIME, nullable=False),
        sa.Column("packed_at", UTC_TIME, nullable=False),
        sa.Column("shipped_at", UTC_TIME, nullable=False),
        sa.Column("cancelled_at", UTC_TIME, nullable=True),
        sa.Column("picked_sent_at", UTC_TIME, nullable=True),
        sa.Column("packed_sent_at", UTC_TIME, nullable=True),
        sa.Column("shipped_sent_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_sandbox_warehouse_releases")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_sandbox_warehouse_releases_idempotency_key")
        ),
        sa.UniqueConstraint("shipment_id", name=op.f("uq_sandbox_warehouse_releases_shipment_id")),
    )
    op.create_table(
        "sandbox_channel_pushes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_channel_pushes")),
    )
    with op.batch_alter_table("sandbox_payment_operations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sandbox_payment_operations_auth", ["authorization_id"], unique=False
        )
    with op.batch_alter_table("sandbox_warehouse_releases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sandbox_warehouse_releases_pending", ["shipped_sent_at"], unique=False
        )
    with op.batch_alter_table("sandbox_channel_pushes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sandbox_channel_pushes_channel_sku", ["channel", "sku"], unique=False
        )
