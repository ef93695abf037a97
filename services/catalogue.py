"""Catalogue use cases: the merchant's SKUs one by one or by CSV, and cycle counts by CSV.

Called by the API and the dashboard. A file is all-or-nothing: every row is checked (the pure
rules in `domain.catalogue`, then what needs the database) before anything is written, and the
writes share one transaction. SKUs are written by one multi-row upsert per thousand rows; a
cycle count sets each counted level through the same `store.inventory.adjust` an adjustment
uses, so the movement log explains it and the channels hear of it (the stock-change outbox),
and stock it adds serves backorders, whose orders are woken after the commit.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain.catalogue import (
    CountRow,
    ImportRejected,
    RowProblem,
    SkuFields,
    decode,
    parse_counts,
    parse_skus,
)
from domain.errors import BadRequest, NotFound
from services.inventory import wake
from store import inventory
from store.tables import Location, Sku, StockLevel, utcnow

_SKUS: Table = Sku.__table__  # type: ignore[assignment]
_INSERT: dict[str, Any] = {"postgresql": pg_insert, "sqlite": sqlite_insert}
# Rows per INSERT: 11 bind parameters each stays under both databases' limit (32766).
_CHUNK = 1000
CYCLE_COUNT = "cycle_count"


@dataclass(frozen=True)
class SkuPage:
    """One page of SKUs in SKU order; `next_cursor` fetches the next one (None: the last)."""

    skus: list[Sku]
    next_cursor: str | None


@dataclass(frozen=True)
class SkuImport:
    """What a SKU file did."""

    created: int
    updated: int


@dataclass(frozen=True)
class CountImport:
    """What a cycle count did: rows counted, levels changed, levels already right."""

    rows: int
    changed: int
    unchanged: int


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def _existing(session: AsyncSession, skus: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(skus):
        found |= set(await session.scalars(select(Sku.sku).where(Sku.sku.in_(list(chunk)))))
    return found


async def _upsert(session: AsyncSession, rows: list[dict[str, Any]], columns: set[str]) -> None:
    """Insert `rows`, or on an existing SKU set only `columns` (and `updated_at`)."""
    insert = _INSERT[session.get_bind().dialect.name]
    for chunk in _chunks(rows):
        stmt = insert(_SKUS).values(list(chunk))
        changes = {c: stmt.excluded[c] for c in columns if c != "sku"}
        changes["updated_at"] = stmt.excluded.updated_at
        await session.execute(stmt.on_conflict_do_update(index_elements=["sku"], set_=changes))


def _row(sku: str, fields: SkuFields) -> dict[str, Any]:
    now = utcnow()
    return {"sku": sku, **fields.model_dump(), "created_at": now, "updated_at": now}


async def get_sku(session: AsyncSession, sku: str) -> Sku:
    """One SKU, or `NotFound`."""
    row = await session.get(Sku, sku)
    if row is None:
        raise NotFound(f"no SKU {sku!r}", "sku")
    return row


async def put_sku(
    sessions: async_sessionmaker[AsyncSession], sku: str, fields: SkuFields
) -> tuple[bool, Sku]:
    """Create or replace a SKU (fields not given are unset); (created, the SKU as stored)."""
    async with sessions.begin() as session:
        created = not await _existing(session, [sku])
        await _upsert(session, [_row(sku, fields)], set(SkuFields.model_fields))
        row = await session.get(Sku, sku, populate_existing=True)
    assert row is not None
    return created, row


async def import_skus(sessions: async_sessionmaker[AsyncSession], body: bytes) -> SkuImport:
    """Create or update every SKU of a CSV file, or none (`ImportRejected` names bad rows).

    On an existing SKU only the file's columns change; a blank cell unsets that field.
    """
    columns, rows = parse_skus(decode(body))
    if not rows:
        return SkuImport(0, 0)
    async with sessions.begin() as session:
        existing = await _existing(session, [r.sku for r in rows])
        await _upsert(session, [_row(r.sku, r.fields) for r in rows], set(columns))
    return SkuImport(created=len(rows) - len(existing), updated=len(existing))


async def list_skus(
    session: AsyncSession, limit: int, cursor: str | None = None, q: str | None = None
) -> SkuPage:
    """SKUs in SKU order, after `cursor`; `q` matches a SKU prefix, part of the name or the
    whole barcode (any case)."""
    # Byte order on both databases (PostgreSQL would otherwise sort by its collation), so
    # pages and the cursor's comparison agree everywhere.
    key = Sku.sku.collate("C") if session.get_bind().dialect.name == "postgresql" else Sku.sku
    stmt = select(Sku)
    if q and q.strip():
        stmt = stmt.where(_matches(q.strip()))
    if cursor:
        stmt = stmt.where(key > decode_cursor(cursor))
    rows = list((await session.scalars(stmt.order_by(key).limit(limit + 1))).all())
    page = rows[:limit]
    return SkuPage(page, encode_cursor(page[-1].sku) if len(rows) > limit else None)


def _matches(q: str) -> ColumnElement[bool]:
    if "\x00" in q:
        raise BadRequest("must not contain NUL characters", field="q")
    return or_(
        Sku.sku.istartswith(q, autoescape=True),
        Sku.name.icontains(q, autoescape=True),
        Sku.barcode == q,
    )


def encode_cursor(sku: str) -> str:
    """An opaque keyset cursor: the last SKU of a page."""
    return base64.urlsafe_b64encode(json.dumps([sku]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The SKU a cursor of `encode_cursor` holds; `BadRequest` naming `cursor` if none."""
    try:
        [sku] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error) as err:
        raise _bad_cursor() from err
    if not isinstance(sku, str) or "\x00" in sku:
        raise _bad_cursor()
    return sku


def _bad_cursor() -> BadRequest:
    return BadRequest("is not a cursor this list returned", field="cursor", code="bad_cursor")


async def import_counts(
    sessions: async_sessionmaker[AsyncSession], client: Client | None, body: bytes
) -> CountImport:
    """Set each counted level to what was counted, or none (`ImportRejected` names bad rows).

    The difference from the recorded on-hand is a `cycle_count` movement. A count below the
    units reserved at that location is refused: those units are promised to orders and still
    on the shelf (or the count missed them); release or ship them first.
    """
    rows, problems = parse_counts(decode(body))
    if not rows and not problems:
        return CountImport(0, 0, 0)
    async with sessions.begin() as session:
        levels = await _levels(session, rows)
        problems += await _unknown(session, rows)
        bad_lines = {p.line for p in problems}
        changed = 0
        for row in sorted(rows, key=lambda r: (r.sku, r.location_id)):
            if row.line in bad_lines:
                continue
            level = levels.get((row.sku, row.location_id))
            recorded, reserved = (level.on_hand, level.reserved) if level else (0, 0)
            if row.on_hand < reserved:
                problems.append(_below_reserved(row, reserved))
                continue
            if row.on_hand == recorded:
                continue
            reason = f"cycle count: counted {row.on_hand}, recorded {recorded}"
            delta = row.on_hand - recorded
            try:
                await inventory.adjust(
                    session, row.sku, row.location_id, delta, reason, kind=CYCLE_COUNT
                )
            except ValueError:  # reserved grew since we read it
                problems.append(_below_reserved(row, reserved))
                continue
            changed += 1
        if problems:
            raise ImportRejected(problems)  # rolls the whole count back
        woken = set(inventory.wakeups(session))
    if client is not None:
        await wake(client, woken)
    return CountImport(rows=len(rows), changed=changed, unchanged=len(rows) - changed)


def _below_reserved(row: CountRow, reserved: int) -> RowProblem:
    message = (
        f"cannot count {row.on_hand}: {reserved} units here are reserved for orders "
        "(release or ship them first)"
    )
    return RowProblem(row.line, "on_hand", message, row.sku)


async def _levels(
    session: AsyncSession, rows: Sequence[CountRow]
) -> dict[tuple[str, str], StockLevel]:
    """The counted levels, locked (PostgreSQL) in key order until the count commits."""
    wanted = {(r.sku, r.location_id) for r in rows}
    found: dict[tuple[str, str], StockLevel] = {}
    for chunk in _chunks(sorted({r.sku for r in rows})):
        result = await session.scalars(
            select(StockLevel)
            .where(StockLevel.sku.in_(list(chunk)))
            .order_by(StockLevel.sku, StockLevel.location_id)
            .with_for_update()
        )
        found |= {
            (lv.sku, lv.location_id): lv for lv in result if (lv.sku, lv.location_id) in wanted
        }
    return found


async def _unknown(session: AsyncSession, rows: Sequence[CountRow]) -> list[RowProblem]:
    """A problem for every row naming a SKU or a location that does not exist."""
    skus = await _existing(session, sorted({r.sku for r in rows}))
    locations = set(
        await session.scalars(
            select(Location.location_id).where(
                Location.location_id.in_(sorted({r.location_id for r in rows}))
            )
        )
    )
    problems = [
        RowProblem(r.line, "sku", f"no SKU {r.sku!r}", r.sku) for r in rows if r.sku not in skus
    ]
    problems += [
        RowProblem(r.line, "location_id", f"no location {r.location_id!r}", r.sku)
        for r in rows
        if r.location_id not in locations
    ]
    return problems
