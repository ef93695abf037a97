"""Demand taken at intake: what each order was promised off network ATP before it routed.

An order's demand is written in the transaction that records the order, so available-to-
promise drops the moment a channel's order is accepted, not when its workflow reaches
`reserve_stock` (seconds to minutes later in a flash sale). Reserving at a location turns the
demand into a reservation; every path that ends the order returns what is still open.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, UtcDateTime, utcnow


class SkuDemand(Base):
    """Per SKU: units promised at intake and not yet reserved at a location.

    The row is also the SKU's lock: intake, and reservations that need network stock, take it
    first, so two of them never promise the same unit.
    """

    __tablename__ = "sku_demand"
    __table_args__ = (CheckConstraint("open_units >= 0", name="open_units_nonneg"),)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    open_units: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class OrderDemand(Base):
    """One order line's intake promise: `wanted` units, `covered` of them promised, `open` of
    those not yet reserved or returned (open -> 0 by reservation, or by return)."""

    __tablename__ = "order_demand"
    __table_args__ = (
        CheckConstraint("open_units >= 0", name="order_open_nonneg"),
        CheckConstraint("open_units <= covered", name="order_open_le_covered"),
    )
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    wanted: Mapped[int] = mapped_column(Integer)
    covered: Mapped[int] = mapped_column(Integer)
    open_units: Mapped[int] = mapped_column(Integer)
    # open -> reserved (all of it became reservations) | returned (the order ended first);
    # short: nothing could be promised (covered 0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class ChannelAllocation(Base):
    """A scarce SKU's share for one selling channel (`amazon`, `conn:<id>`): what it may still
    sell. Counted down by the channel's own orders at intake, as the platform counts its own
    sales down; the shares together never exceed network ATP (see domain/allocation.py)."""

    __tablename__ = "channel_allocations"
    __table_args__ = (CheckConstraint("units >= 0", name="allocation_nonneg"),)
    channel: Mapped[str] = mapped_column(String(80), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    units: Mapped[int] = mapped_column(Integer)
    # The channel's last sale counted here: while recent, its share is left alone (a push
    # would erase the sales still on their way to the OMS).
    sold_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
