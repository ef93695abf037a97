"""returns (RMA read model)

Revision ID: c3d4e5f6a7b8
Revises: 1e5516bedb5a
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c3d4e5f6a7b8"
down_revision = "1e5516bedb5a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("rma_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=250), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=128), nullable=False),
        sa.Column("label_url", sa.String(length=500), nullable=False),
        sa.Column("refund_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("replacement_shipment_id", sa.String(length=128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("rma_id", name=op.f("pk_returns")),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_returns_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_returns_status"), ["status"], unique=False)

    op.create_table(
        "return_lines",
        sa.Column("rma_id", sa.String(length=128), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("exchange_sku", sa.String(length=64), nullable=True),
        sa.Column("received_quantity", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=16), nullable=True),
        sa.Column("disposition", sa.String(length=16), nullable=True),
        sa.Column("disposition_applied", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"],
            ["returns.rma_id"],
            name=op.f("fk_return_lines_rma_id_returns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rma_id", "line_id", name=op.f("pk_return_lines")),
    )
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_lines_reason"), ["reason"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_lines_sku"), ["sku"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_lines_sku"))
        batch_op.drop_index(batch_op.f("ix_return_lines_reason"))
    op.drop_table("return_lines")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returns_status"))
        batch_op.drop_index(batch_op.f("ix_returns_order_id"))
    op.drop_table("returns")
