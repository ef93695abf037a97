"""Read model of returns (RMAs): one row per RMA and one per returned line.

Written only by the return workflow's activities (versioned, so a late retry never overwrites
newer state); read by `/v1/returns` and by analytics (reason codes, dispositions).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, Money, ShipmentDocument, UtcDateTime


class Return(Base):
    """One RMA."""

    __tablename__ = "returns"

    rma_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    workflow_id: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(32), index=True)
    location_id: Mapped[str] = mapped_column(String(64))
    carrier: Mapped[str] = mapped_column(String(64), default="")
    tracking_number: Mapped[str] = mapped_column(String(128), default="")
    label_url: Mapped[str] = mapped_column(String(500), default="")
    refund_amount: Mapped[Decimal | None] = mapped_column(Money)
    replacement_shipment_id: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class ReturnLine(Base):
    """One line of an RMA: what was asked, what arrived, where it went."""

    __tablename__ = "return_lines"

    rma_id: Mapped[str] = mapped_column(
        ForeignKey("returns.rma_id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64), index=True)
    exchange_sku: Mapped[str | None] = mapped_column(String(64))
    received_quantity: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str | None] = mapped_column(String(16))
    disposition: Mapped[str | None] = mapped_column(String(16))
    # Set in the transaction that moved the stock, so a retried activity never moves it twice:
    # the last receipt (parcel) whose units moved (`disposition_applied`: the first's, before
    # parcels were counted).
    disposition_applied: Mapped[bool] = mapped_column(default=False)
    applied_receipt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# ---- queries (the API's reads) -----------------------------------------------------------------


async def get_return(session: AsyncSession, rma_id: str) -> tuple[Return, list[ReturnLine]] | None:
    """An RMA with its lines, or None."""
    row = await session.get(Return, rma_id)
    if row is None:
        return None
    lines = await session.scalars(
        select(ReturnLine).where(ReturnLine.rma_id == rma_id).order_by(ReturnLine.line_id)
    )
    return row, list(lines)


async def list_returns(
    session: AsyncSession, *, status: str | None, order_id: str | None, limit: int
) -> list[tuple[Return, list[ReturnLine]]]:
    """RMAs newest first, filtered by status (comma-separated) and order."""
    stmt = select(Return)
    if status:
        stmt = stmt.where(Return.status.in_(status.split(",")))
    if order_id:
        stmt = stmt.where(Return.order_id == order_id)
    rows = list((await session.scalars(stmt.order_by(Return.created_at.desc()).limit(limit))).all())
    lines: dict[str, list[ReturnLine]] = {r.rma_id: [] for r in rows}
    if rows:
        for line in await session.scalars(
            select(ReturnLine)
            .where(ReturnLine.rma_id.in_(list(lines)))
            .order_by(ReturnLine.line_id)
        ):
            lines[line.rma_id].append(line)
    return [(r, lines[r.rma_id]) for r in rows]


async def label_document(session: AsyncSession, rma_id: str) -> ShipmentDocument | None:
    """The stored return label PDF of an RMA."""
    return await session.scalar(
        select(ShipmentDocument).where(
            ShipmentDocument.shipment_id == rma_id, ShipmentDocument.kind == "label"
        )
    )
