"""Tables of analytics: the latest demand forecast per SKU, rewritten by each scheduled run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, UtcDateTime, utcnow


class Forecast(Base):
    """Demand velocity and the replenishment suggestion for one SKU (network-wide)."""

    __tablename__ = "forecasts"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Demand pattern (smooth, erratic, intermittent, lumpy, none) and the method it chose.
    pattern: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    velocity: Mapped[float] = mapped_column(Float)
    sigma: Mapped[float] = mapped_column(Float)
    available: Mapped[int] = mapped_column(Integer)
    inbound: Mapped[int] = mapped_column(Integer)
    days_of_cover: Mapped[float | None] = mapped_column(Float)
    safety_stock: Mapped[int] = mapped_column(Integer)
    reorder_point: Mapped[int] = mapped_column(Integer)
    suggested_qty: Mapped[int] = mapped_column(Integer)
    reorder_now: Mapped[bool] = mapped_column(Boolean)
    lead_time_days: Mapped[float] = mapped_column(Float)
    service_level: Mapped[float] = mapped_column(Float)
    history_days: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


__all__ = ["Base", "Forecast"]
