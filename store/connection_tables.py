"""Tables of connected shop accounts: the connection, its listing map, the stock it shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, UtcDateTime, utcnow


class ChannelConnection(Base):
    """One shop account (a Shopify store, a WooCommerce site) the OMS is connected to."""

    __tablename__ = "channel_connections"
    __table_args__ = (Index("ix_channel_connections_shop_domain", "shop_domain"),)
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str] = mapped_column(String(500))
    # What the shop's webhooks name themselves by (Shopify's shop domain, Woo's site URL host),
    # lower case: the webhook route picks the connection by it.
    shop_domain: Mapped[str] = mapped_column(String(255))
    # AES-256-GCM under the payload key (config/credentials.py); never returned by the API.
    credentials: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # active | disconnected
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The reconciliation pull reads orders changed since here (moved forward after each pull).
    orders_read_to: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_pull_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ShopListingRow(Base):
    """A sellable item at a connected shop and the SKU it is (None: not mapped, never guessed)."""

    __tablename__ = "shop_listings"
    __table_args__ = (Index("ix_shop_listings_sku", "connection_id", "sku"),)
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    inventory_item_id: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500), default="")
    shop_sku: Mapped[str | None] = mapped_column(String(255))
    barcode: Mapped[str | None] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(64))
    # sku | barcode | manual (a PUT; kept across syncs) | None
    mapped_by: Mapped[str | None] = mapped_column(String(16))
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShopStockLevel(Base):
    """The availability last set at a shop, per SKU and shop location, and how late it was."""

    __tablename__ = "shop_stock_levels"
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    location_ref: Mapped[str] = mapped_column(String(128), primary_key=True, default="")
    available: Mapped[int] = mapped_column(Integer)
    pushed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lag_ms: Mapped[int] = mapped_column(Integer, default=0)
