"""reservations owned by holds (a shipment, or `waiting`); the backorder queue; receipts
per return line

Revision ID: e5f6a7b8c9d0
Revises: de6bc049ef44
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e5f6a7b8c9d0"
down_revision = "de6bc049ef44"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hold_id", sa.String(length=128), server_default="", nullable=False)
        )
        batch_op.drop_constraint("pk_reservations", type_="primary")
        batch_op.create_primary_key(
            "pk_reservations", ["order_id", "hold_id", "line_id", "location_id"]
        )
    op.create_table(
        "backorders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("eligible_locations", sa.JSON(), nullable=False),
        sa.Column(
            "queued_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("order_id", "line_id", name=op.f("pk_backorders")),
    )
    with op.batch_alter_table("backorders", schema=None) as batch_op:
        batch_op.create_index("ix_backorders_sku_queued", ["sku", "queued_at"], unique=False)
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("applied_receipt", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.drop_column("applied_receipt")
    with op.batch_alter_table("backorders", schema=None) as batch_op:
        batch_op.drop_index("ix_backorders_sku_queued")
    op.drop_table("backorders")
    # Holds of one line at one location merge back into one row.
    op.execute(
        "DELETE FROM reservations WHERE hold_id <> '' AND EXISTS (SELECT 1 FROM reservations r "
        "WHERE r.order_id = reservations.order_id AND r.line_id = reservations.line_id AND "
        "r.location_id = reservations.location_id AND r.hold_id < reservations.hold_id)"
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_constraint("pk_reservations", type_="primary")
        batch_op.create_primary_key("pk_reservations", ["order_id", "line_id", "location_id"])
        batch_op.drop_column("hold_id")
