"""routing profiles as versioned data

Revision ID: b7c1e2d3f4a5
Revises: a5d68bef1ad3
Create Date: 2026-11-23 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b7c1e2d3f4a5"
down_revision = "a5d68bef1ad3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_profiles",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_routing_profiles")),
    )


def downgrade() -> None:
    op.drop_table("routing_profiles")
