"""Tables of the OMS database. Schemas for the API live in `api/schemas`, not here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import DDL
from sqlalchemy.types import TypeDecorator

# Named constraints so Alembic migrations are stable on PostgreSQL and SQLite (batch mode).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(14, 2)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    SQLite stores datetimes as naive text; normalising to UTC on the way in and tagging UTC on
    the way out keeps comparisons, ordering and arithmetic correct everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass timezone-aware (UTC) datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond (the database's own clock is seconds-only on SQLite)."""
    return datetime.now(UTC)


def _now() -> Mapped[datetime]:
    return mapped_column(UtcDateTime, default=utcnow, server_default=func.now(), nullable=False)


class Location(Base):
    """A place that holds stock and ships: warehouse, store, 3PL or drop-ship partner."""

    __tablename__ = "locations"
    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="warehouse")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    country: Mapped[str] = mapped_column(String(2), default="US")
    daily_capacity: Mapped[int] = mapped_column(Integer, default=1000)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()


class Sku(Base):
    """A sellable item of the merchant's catalogue (`PUT /v1/skus/{sku}`, the CSV import)."""

    __tablename__ = "skus"
    __table_args__ = (Index("ix_skus_barcode", "barcode"),)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    weight_grams: Mapped[int] = mapped_column(Integer, default=500)
    price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # What customs and parcel rating need; unset (NULL) until the merchant says.
    barcode: Mapped[str | None] = mapped_column(String(64))
    hs_code: Mapped[str | None] = mapped_column(String(16))
    origin_country: Mapped[str | None] = mapped_column(String(2))
    length_mm: Mapped[int | None] = mapped_column(Integer)
    width_mm: Mapped[int | None] = mapped_column(Integer)
    height_mm: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class StockLevel(Base):
    """Per SKU and location counters; `stock_movements` explains every change."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        CheckConstraint("reserved <= on_hand", name="reserved_le_on_hand"),
        Index("ix_stock_levels_location", "location_id"),
    )
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku"), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.location_id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    inbound: Mapped[int] = mapped_column(Integer, default=0)
    inbound_expected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = _now()


class StockMovement(Base):
    """Append-only record of a stock change (receipt, adjustment, reservation, release, ...)."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_sku_location", "sku", "location_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(64))
    location_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(200), default="")
    order_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()


class StockChange(Base):
    """Outbox: a SKU whose available-to-promise changed, written in the change's transaction.

    The worker's stock-change relay drains it into the channels' inventory syncs and deletes
    what it relayed, so a crash between a stock write and its signal loses nothing.
    """

    __tablename__ = "stock_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = _now()


class Reservation(Base):
    """Stock held for one order line at one location, owned by a hold of the order's workflow.

    `hold_id` is the shipment the units will leave in, or `waiting` for units the inventory
    service set aside for a backordered line when stock arrived (first come, first served); the
    order turns those into a shipment's hold when it plans one. Rows written before holds had
    ids have `hold_id` ''.
    """

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_sku_location", "sku", "location_id"),)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hold_id: Mapped[str] = mapped_column(String(128), primary_key=True, server_default="")
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    # held -> committed (shipped) | released (cancel, failure, reroute)
    status: Mapped[str] = mapped_column(String(16), default="held")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class Backorder(Base):
    """Units of an order line that no location could supply: the queue stock arrivals serve.

    Served oldest first: when a location gains available units of the SKU, waiting lines that
    may ship from there take them in `queued_at` order (ties by order id), each as much as it
    still needs, before any younger line or new order can. `queued_at` is kept while the line
    waits, so a line that was served in part keeps its place for the rest.
    """

    __tablename__ = "backorders"
    __table_args__ = (Index("ix_backorders_sku_queued", "sku", "queued_at"),)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    # Units still without any hold (0 while the order turns what it was given into a shipment).
    quantity: Mapped[int] = mapped_column(Integer)
    workflow_id: Mapped[str] = mapped_column(String(200))
    # Locations the line may ship from (its routing profile and exclusions); empty: any.
    eligible_locations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    queued_at: Mapped[datetime] = _now()


class Order(Base):
    """Read model of an order, written by the workflow's activities; the API lists from here."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_orders_channel_external_id"),
        Index("ix_orders_status", "status"),
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_search_number", "search_number"),
        Index("ix_orders_search_external_id", "search_external_id"),
        Index("ix_orders_search_email", "search_email"),
        # PostgreSQL only: trigrams serve name substrings, byte order serves order id prefixes
        # whatever the database's collation. SQLite can use neither (its primary key already
        # serves the prefix range); `WHERE 0` keeps them empty there, so one model fits both.
        Index(
            "ix_orders_search_name_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
            sqlite_where=text("0"),
        ),
        Index(
            "ix_orders_order_id_prefix",
            "order_id",
            postgresql_ops={"order_id": "varchar_pattern_ops"},
            sqlite_where=text("0"),
        ),
    )
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="received")
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Money)
    # The canonical order as received (lines, customer, ship_to, payment method without secrets).
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    shipments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    payments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    routing: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    hold: Mapped[bool] = mapped_column(Boolean, default=False)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Projection version: a late retry of an older projection never overwrites a newer one.
    version: Mapped[int] = mapped_column(Integer, default=0)
    workflow_started: Mapped[bool] = mapped_column(Boolean, default=False)
    # The connected shop it came through (None: the API, or an env-configured channel).
    connection_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    # What `GET /v1/orders?q=` matches, written at intake. The `search_*` copies are trimmed and
    # case-folded (see services/search.py), so plain indexes serve case-insensitive lookups on
    # both databases; `order_number` is the channel's number as its customers see it.
    order_number: Mapped[str] = mapped_column(String(64), default="", server_default="")
    search_number: Mapped[str] = mapped_column(String(64), default="", server_default="")
    search_external_id: Mapped[str] = mapped_column(String(128), default="", server_default="")
    search_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    search_name: Mapped[str] = mapped_column(String(200), default="", server_default="")


# The trigram operator class lives in an extension; `create_all` (tests) needs it as well.
event.listen(
    Order.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


class OrderLine(Base):
    """One line per order, so the list can filter by SKU."""

    __tablename__ = "order_lines"
    __table_args__ = (Index("ix_order_lines_sku", "sku"),)
    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)


class OrderShipment(Base):
    """One shipment of an order as last projected: where it ships from and its tracking number.

    The `shipments` JSON of the order row is what the API shows; this table makes the list's
    location filter and the public tracking page index lookups instead of JSON scans.
    """

    __tablename__ = "order_shipments"
    __table_args__ = (
        Index("ix_order_shipments_location_order", "location_id", "order_id"),
        Index("ix_order_shipments_order", "order_id"),
        Index("ix_order_shipments_tracking_number", "tracking_number"),
    )
    shipment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(String(64))
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))


class OrderEvent(Base):
    """The order timeline. `event_key` makes each write idempotent under activity retries."""

    __tablename__ = "order_events"
    __table_args__ = (
        UniqueConstraint("order_id", "event_key", name="uq_order_events_order_key"),
        Index("ix_order_events_order_at", "order_id", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    type: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ShipmentDocument(Base):
    """Label and packing-slip documents served by the API."""

    __tablename__ = "shipment_documents"
    shipment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()


class ApiKey(Base):
    """An API key, stored as a SHA-256 hash; the key itself is shown once at creation."""

    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = _now()
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Notification(Base):
    """A customer message, keyed by event so a retried activity sends it once."""

    __tablename__ = "notifications"
    idempotency_key: Mapped[str] = mapped_column(String(250), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | logged
    created_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RoutingProfileVersion(Base):
    """One version of a routing profile; the newest per name is in force (history is kept)."""

    __tablename__ = "routing_profiles"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = _now()
