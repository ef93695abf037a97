"""Draft orders: what a draft keeps beside its `orders` row until it is confirmed or expires.

The `orders` row of a draft (status `draft`) is what the API lists and shows; its document
holds no payment token, like every order's. The payment method as sent (a card's token
included) waits here for the confirmation that starts the order's workflow, and is forgotten
when the draft expires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, UtcDateTime, utcnow


class DraftOrder(Base):
    """One draft: its payment method, when it expires, and when it was confirmed."""

    __tablename__ = "draft_orders"
    __table_args__ = (Index("ix_draft_orders_expires_at", "expires_at"),)
    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True
    )
    # The `PaymentMethod` as sent; None once the draft expired.
    payment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
