"""Tables of the sales-channel feature: delivery ledger, dead letters, cursors, inventory sync."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, BigId, UtcDateTime, utcnow


def _now() -> Mapped[datetime]:
    return mapped_column(UtcDateTime, default=utcnow, nullable=False)


class ChannelDelivery(Base):
    """Every signed delivery, once: the unique key is what makes a redelivery a no-op."""

    __tablename__ = "channel_deliveries"
    __table_args__ = (
        UniqueConstraint("channel", "delivery_id", name="uq_channel_deliveries_channel_delivery"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(64), default="")
    # The connected shop account it came from (None: the default, env-configured account).
    connection_id: Mapped[str | None] = mapped_column(String(64))
    # received (in flight or crashed: a redelivery processes it again) | accepted | cancelled
    # | ignored | rejected | refused
    status: Mapped[str] = mapped_column(String(16), default="received")
    order_id: Mapped[str | None] = mapped_column(String(64))
    # Kept until processed so a crash between receipt and processing loses nothing.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = _now()
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChannelDeadLetter(Base):
    """A delivery or pulled order that could not be turned into an order, kept for replay."""

    __tablename__ = "channel_dead_letters"
    __table_args__ = (Index("ix_channel_dead_letters_status", "status", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(64), default="")
    connection_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # open -> replayed (an order or cancel went through) | discarded
    status: Mapped[str] = mapped_column(String(16), default="open")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    order_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()
    replayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChannelCursor(Base):
    """How far a pull channel account has been read (an opaque, channel-specific cursor)."""

    __tablename__ = "channel_cursors"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = _now()


class ChannelBuffer(Base):
    """Units held back from a channel: `sku` '*' is the channel default, a SKU row overrides."""

    __tablename__ = "channel_buffers"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True, default="*")
    buffer_units: Mapped[int] = mapped_column(Integer, default=0)
    buffer_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class ChannelListing(Base):
    """A SKU's identity on a channel (Shopify inventory item, Woo product, Etsy listing)."""

    __tablename__ = "channel_listings"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(128))
    # The channel's own location (Shopify location_id); empty where the channel has none.
    location_ref: Mapped[str] = mapped_column(String(128), default="")


class ChannelInventoryLevel(Base):
    """The last availability pushed per channel and SKU, and how long the push lagged."""

    __tablename__ = "channel_inventory_levels"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pushed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lag_ms: Mapped[int] = mapped_column(Integer)
