"""Order search: the one query behind `GET /v1/orders` and the dashboard's order list.

Every filter is SQL, so a page holds `limit` matches whatever the filters, and `next_cursor` is
set exactly when more remain. Pages are keyset-paginated newest first: stable while orders
arrive, and as cheap on the thousandth page as on the first.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import BadRequest
from domain.models import CanonicalOrder
from store.tables import Order, OrderLine, OrderShipment

# Column sizes of the search keys in `orders`: case folding may lengthen text ("ß" -> "ss").
_NUMBER_LEN, _EXTERNAL_LEN, _EMAIL_LEN, _NAME_LEN = 64, 128, 254, 200


@dataclass(frozen=True)
class OrderFilters:
    """What to list; an empty field does not filter."""

    statuses: Sequence[str] = ()
    channel: str | None = None
    sku: str | None = None
    # An order is at a location when one of its shipments ships from there.
    location: str | None = None
    # An order id prefix, the external id, the channel's order number, the customer's email
    # (whole) or part of the customer's name; case-insensitive. Also a workflow id (whole).
    q: str | None = None
    # Whole UTC days, both ends included.
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class OrderPage:
    """One page of orders, newest first; `next_cursor` fetches the next one (None: the last)."""

    orders: list[Order]
    next_cursor: str | None


def fold(value: str) -> str:
    """The form in which search keys are stored and looked up: trimmed and case-folded."""
    return value.strip().casefold()


def number_key(number: str) -> str:
    """An order number's search key: "#1001" and "1001" are the same number to a customer."""
    return fold(number).lstrip("#").strip()


def search_columns(order: CanonicalOrder) -> dict[str, str]:
    """The `orders` columns `q` looks up, for the intake to store with the order."""
    return {
        "order_number": order.display_number,
        "search_number": number_key(order.display_number)[:_NUMBER_LEN],
        "search_external_id": fold(order.external_id)[:_EXTERNAL_LEN],
        "search_email": fold(order.customer.email)[:_EMAIL_LEN],
        "search_name": fold(order.customer.name)[:_NAME_LEN],
    }


async def search_orders(
    session: AsyncSession, filters: OrderFilters, limit: int, cursor: str | None = None
) -> OrderPage:
    """A page of the orders matching `filters`, after `cursor` when given."""
    stmt = select(Order).where(*_conditions(session, filters))
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Order.created_at < at, and_(Order.created_at == at, Order.order_id < last_id))
        )
    stmt = stmt.order_by(Order.created_at.desc(), Order.order_id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    page = rows[:limit]
    more = len(rows) > limit
    return OrderPage(page, encode_cursor(page[-1].created_at, page[-1].order_id) if more else None)


def _conditions(session: AsyncSession, f: OrderFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    statuses = [s for s in (x.strip() for x in f.statuses) if s]
    if statuses:
        conditions.append(Order.status.in_(statuses))
    if f.channel:
        conditions.append(Order.channel == f.channel)
    if f.sku:
        lines = select(OrderLine.order_id).where(OrderLine.sku == f.sku)
        conditions.append(Order.order_id.in_(lines))
    if f.location:
        shipped = select(OrderShipment.order_id).where(OrderShipment.location_id == f.location)
        conditions.append(Order.order_id.in_(shipped))
    if f.q and f.q.strip():
        conditions.append(_matches(session, f.q))
    # Whole UTC days as a timestamp range, so the created_at index serves the filter.
    if f.date_from:
        conditions.append(Order.created_at >= _midnight(f.date_from))
    if f.date_to:
        conditions.append(Order.created_at < _midnight(f.date_to + timedelta(days=1)))
    return conditions


def _matches(session: AsyncSession, q: str) -> ColumnElement[bool]:
    """`q` as an order id prefix, external id, order number, email or part of a name."""
    if "\x00" in q:
        # PostgreSQL refuses NUL in text; no stored value contains one either.
        raise BadRequest("must not contain NUL characters", field="q")
    key = fold(q)
    arms = [
        _prefix(session, Order.order_id, key),
        Order.workflow_id == q.strip(),
        Order.search_external_id == key,
        Order.search_email == key,
        Order.search_name.like(f"%{_escape_like(key)}%", escape="\\"),
    ]
    number = number_key(q)
    if number:
        arms.append(Order.search_number == number)
    return or_(*arms)


def _prefix(session: AsyncSession, column: Any, prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, as a range an index serves.

    Byte order on both sides: SQLite compares text bytewise (BINARY), and PostgreSQL's `~>=~`
    and `~<~` do so whatever the collation (the `varchar_pattern_ops` index serves them).
    """
    # The least string above every string that starts with `prefix` (none past U+10FFFF);
    # surrogates cannot be encoded, and no text holds one, so the bound skips them.
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    above = prefix[:-1] + chr(following) if following <= 0x10FFFF else None
    if session.get_bind().dialect.name == "postgresql":
        at_least = column.op("~>=~", is_comparison=True)(prefix)
        below = column.op("~<~", is_comparison=True)(above) if above is not None else None
    else:
        at_least = column >= prefix
        below = column < above if above is not None else None
    return at_least if below is None else and_(at_least, below)  # type: ignore[no-any-return]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def encode_cursor(created_at: datetime, order_id: str) -> str:
    """An opaque keyset cursor: the position of the last order of a page."""
    raw = json.dumps([created_at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor of `encode_cursor` holds; `BadRequest` naming `cursor` if none."""
    try:
        at, order_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = datetime.fromisoformat(at)
    except (ValueError, TypeError, binascii.Error) as err:
        raise _bad_cursor() from err
    # Cursors we issue carry an aware timestamp and an id; anything else was made up.
    if position.tzinfo is None or not isinstance(order_id, str) or "\x00" in order_id:
        raise _bad_cursor()
    return position, order_id


def _bad_cursor() -> BadRequest:
    return BadRequest("is not a cursor this list returned", field="cursor", code="bad_cursor")
