"""the merchant's catalogue: barcode, customs and dimensions of a SKU, and when it last changed

Revision ID: f1c2a3b4d5e6
Revises: e6f7a8b9c0d1
Create Date: 2026-12-02 14:30:00

SQLite cannot ADD COLUMN with a non-constant default (CURRENT_TIMESTAMP), and rebuilding
`skus` in batch mode would drop a table `stock_levels` references while foreign keys are on.
So on SQLite `updated_at` is added with a constant default and every existing row takes its
`created_at`; the application always writes `updated_at` itself (the model's default).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f1c2a3b4d5e6"
down_revision = "e6f7a8b9c0d1"
branch_labels = None
depends_on = None

NEW_COLUMNS = ("barcode", "hs_code", "origin_country", "length_mm", "width_mm", "height_mm")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    updated_default = (
        sa.text("'1970-01-01 00:00:00'") if sqlite else sa.text("(CURRENT_TIMESTAMP)")
    )
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(sa.Column("barcode", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hs_code", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("origin_country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("length_mm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("width_mm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height_mm", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                server_default=updated_default,
                nullable=False,
            )
        )
        batch_op.create_index("ix_skus_barcode", ["barcode"], unique=False)
    op.execute("UPDATE skus SET updated_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_index("ix_skus_barcode")
        for name in ("updated_at", *reversed(NEW_COLUMNS)):
            batch_op.drop_column(name)
