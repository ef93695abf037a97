"""drafts and receivables: draft orders waiting to be confirmed; invoice orders' receivables,
invoices and credit notes

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-12-04 10:00:00

A draft's `orders` row (status `draft`) is written like any order's; `draft_orders` keeps its
payment method and expiry until it is confirmed. An order paid by invoice opens a receivable;
each shipment that ships adds an invoice, each refund a credit note (`invoice_documents`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c9d0e1f2a3b4"
down_revision = "b8c9d0e1f2a3"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "draft_orders",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("payment", sa.JSON(), nullable=True),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("confirmed_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
            name=op.f("fk_draft_orders_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_draft_orders")),
    )
    op.create_index("ix_draft_orders_expires_at", "draft_orders", ["expires_at"])
    op.create_table(
        "receivables",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("customer_email", sa.String(254), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("terms_days", sa.Integer(), nullable=False),
        sa.Column("expected", MONEY, nullable=False),
        sa.Column("invoiced", MONEY, nullable=False),
        sa.Column("credited", MONEY, nullable=False),
        sa.Column("released", MONEY, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_receivables")),
    )
    op.create_index("ix_receivables_status", "receivables", ["status"])
    op.create_table(
        "invoice_documents",
        sa.Column("document_id", sa.String(160), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(160), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["receivables.order_id"],
            name=op.f("fk_invoice_documents_order_id_receivables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_invoice_documents")),
    )
    op.create_index("ix_invoice_documents_order", "invoice_documents", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_invoice_documents_order", table_name="invoice_documents")
    op.drop_table("invoice_documents")
    op.drop_index("ix_receivables_status", table_name="receivables")
    op.drop_table("receivables")
    op.drop_index("ix_draft_orders_expires_at", table_name="draft_orders")
    op.drop_table("draft_orders")
