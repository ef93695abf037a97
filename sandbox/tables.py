"""Tables of the simulators: payment gateway, carriers, warehouse and channel recorder.

They stand for the remote services' own storage, so they live in the sandbox database (see
`sandbox.db`), never in the OMS schema or its migrations. State is durable there, so a worker
restart (or kill -9) loses no simulated state and tests can inspect exactly what the "remote"
service saw. Only `sandbox/` touches these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.tables import NAMING, BigId, UtcDateTime, utcnow

# Amounts are integer minor units, like card networks and Stripe: exact on SQLite too.
Cents = BigInteger


class SandboxBase(DeclarativeBase):
    """Declarative base of the sandbox database: its own metadata, the OMS naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SandboxPaymentRequest(SandboxBase):
    """One idempotency key: what was asked and the stored answer, replayed on every retry."""

    __tablename__ = "sandbox_payment_requests"
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # done: response or error stored; unavailable: a transient failure, the next try runs it.
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SandboxPaymentAuthorization(SandboxBase):
    """A card authorization and its running totals."""

    __tablename__ = "sandbox_payment_authorizations"
    authorization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(200), default="")
    token: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    amount_cents: Mapped[int] = mapped_column(Cents)
    captured_cents: Mapped[int] = mapped_column(Cents, default=0)
    refunded_cents: Mapped[int] = mapped_column(Cents, default=0)
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SandboxPaymentOperation(SandboxBase):
    """Append-only ledger of what moved money on an authorization."""

    __tablename__ = "sandbox_payment_operations"
    __table_args__ = (Index("ix_sandbox_payment_operations_auth", "authorization_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(64), unique=True)
    authorization_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(Cents)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SandboxLabel(SandboxBase):
    """A purchased shipping label; tracking is derived from its hand-over time and `scenario`."""

    __tablename__ = "sandbox_labels"
    # Keys are per carrier account, as at real carriers: a retry at another carrier is new.
    __table_args__ = (
        UniqueConstraint("carrier", "idempotency_key", name="uq_sandbox_labels_carrier_key"),
    )
    label_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    tracking_number: Mapped[str] = mapped_column(String(64), unique=True)
    carrier: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(16))
    rate_id: Mapped[str] = mapped_column(String(64))
    cost_cents: Mapped[int] = mapped_column(Cents)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(200), default="")
    weight_grams: Mapped[int] = mapped_column(Integer)
    ship_from: Mapped[dict[str, Any]] = mapped_column(JSON)
    ship_to: Mapped[dict[str, Any]] = mapped_column(JSON)
    # normal | fail_delivery | lost | return_to_sender, fixed at purchase from the address.
    scenario: Mapped[str] = mapped_column(String(32), default="normal")
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    zpl: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the parcel left the building on this label (manifest); tracking starts here.
    handed_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SandboxCarrierAttempt(SandboxBase):
    """Attempts per label idempotency key, so a simulated outage fails only the first try."""

    __tablename__ = "sandbox_carrier_attempts"
    carrier: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class SandboxWarehouseRelease(SandboxBase):
    """A shipment released to the simulated WMS, its schedule and which events were sent."""

    __tablename__ = "sandbox_warehouse_releases"
    __table_args__ = (Index("ix_sandbox_warehouse_releases_pending", "shipped_sent_at"),)
    release_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    shipment_id: Mapped[str] = mapped_column(String(128), unique=True)
    order_id: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[str] = mapped_column(String(64))
    lines: Mapped[list[Any]] = mapped_column(JSON)
    released_at: Mapped[datetime] = mapped_column(UtcDateTime)
    picked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    packed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    shipped_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    picked_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    packed_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    shipped_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SandboxChannelPush(SandboxBase):
    """What a sandbox channel endpoint received: inventory, fulfilment and cancel requests."""

    __tablename__ = "sandbox_channel_pushes"
    __table_args__ = (Index("ix_sandbox_channel_pushes_channel_sku", "channel", "sku"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
