"""A simulated WMS: releases are picked, packed and shipped on a schedule, then reported back.

The schedule runs from the release time in business minutes (x time_scale): picked after
`pick_minutes`, packed `pack_minutes` later, shipped `ship_minutes` after that. Events are
delivered at least once by `run_simulator`; receivers must tolerate duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.warehouse.errors import AlreadyShipped
from integrations.warehouse.protocol import (
    EventType,
    ReleaseAck,
    ReleaseLine,
    ReleaseStatus,
    WarehouseEvent,
    WarehouseStatus,
)
from sandbox.clock import Clock, scaled, utc_now
from sandbox.tables import SandboxWarehouseRelease as Release
from store.db import readers

log = structlog.get_logger(__name__)

MINUTE = 60.0
# Per event: when it is due and when it was delivered.
_COLUMNS = {
    "picked": (Release.picked_at, Release.picked_sent_at),
    "packed": (Release.packed_at, Release.packed_sent_at),
    "shipped": (Release.shipped_at, Release.shipped_sent_at),
}
_MAX_INSERT_TRIES = 3
# Shipments whose events are sent at once (each shipment's own events stay in order).
DELIVERY_CONCURRENCY = 16


class SandboxWarehouse:
    """`Warehouse` simulated in `sandbox_warehouse_releases`, with a callback simulator."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        time_scale: float = 1.0,
        clock: Clock = utc_now,
        auto_events: bool = True,
        pick_minutes: float = 10,
        pack_minutes: float = 5,
        ship_minutes: float = 15,
    ) -> None:
        self._sessions = sessions
        self._reads = readers(sessions)
        self._time_scale = time_scale
        self._clock = clock
        # False: the building never reports by itself; tests post the events they want.
        self.auto_events = auto_events
        self._steps = (pick_minutes * MINUTE, pack_minutes * MINUTE, ship_minutes * MINUTE)

    async def release(
        self,
        *,
        idempotency_key: str,
        shipment_id: str,
        order_id: str,
        workflow_id: str,
        location_id: str,
        lines: Sequence[ReleaseLine | Mapping[str, Any]],
    ) -> ReleaseAck:
        """Accept a shipment; a repeat (same key or same live shipment) acknowledges again.

        A shipment released after a cancel starts over with a fresh schedule, as a reroute
        back to the same building would.
        """
        payload = [
            (
                line if isinstance(line, ReleaseLine) else ReleaseLine.model_validate(dict(line))
            ).model_dump()
            for line in lines
        ]
        for _ in range(_MAX_INSERT_TRIES):
            try:
                async with self._sessions() as session, session.begin():
                    row = await session.scalar(
                        select(Release)
                        .where(
                            or_(
                                Release.idempotency_key == idempotency_key,
                                Release.shipment_id == shipment_id,
                            )
                        )
                        .with_for_update()
                    )
                    now = self._clock()
                    if row is None:
                        row = Release(release_id=f"rel_{secrets.token_hex(10)}")
                        self._schedule(row, now, idempotency_key)
                        session.add(row)
                    elif row.cancelled_at is not None and row.idempotency_key != idempotency_key:
                        self._schedule(row, now, idempotency_key)
                    else:
                        return _ack(row)
                    row.shipment_id, row.order_id, row.workflow_id = (
                        shipment_id,
                        order_id,
                        workflow_id,
                    )
                    row.location_id, row.lines = location_id, payload
                    return _ack(row)
            except IntegrityError:
                continue  # a concurrent twin inserted it; the next pass acknowledges theirs
        raise RuntimeError(f"could not record the release of {shipment_id}")

    async def cancel_release(self, *, shipment_id: str) -> bool:
        """Cancel before it ships; idempotent; False when the shipment was never released."""
        async with self._sessions() as session, session.begin():
            row = await session.scalar(
                select(Release).where(Release.shipment_id == shipment_id).with_for_update()
            )
            if row is None:
                return False
            if row.cancelled_at is not None:
                return True
            now = self._clock()
            # Without auto events the building does nothing by itself (tests drive it).
            if self.auto_events and now >= row.shipped_at:
                raise AlreadyShipped(shipment_id)
            row.cancelled_at = now
            return True

    async def status(self, shipment_id: str) -> WarehouseStatus | None:
        """Progress by the clock: what the building has done by now."""
        async with self._reads() as session:
            row = await session.scalar(select(Release).where(Release.shipment_id == shipment_id))
        if row is None:
            return None
        now = self._clock()
        until = min(now, row.cancelled_at) if row.cancelled_at is not None else now
        done = {kind: at for kind, at in _schedule(row).items() if at <= until}
        state: ReleaseStatus = "cancelled" if row.cancelled_at is not None else "acknowledged"
        if state != "cancelled" and done:
            state = cast(ReleaseStatus, list(done)[-1])
        return WarehouseStatus(
            shipment_id=row.shipment_id,
            release_id=row.release_id,
            location_id=row.location_id,
            status=state,
            released_at=row.released_at,
            picked_at=done.get("picked"),
            packed_at=done.get("packed"),
            shipped_at=done.get("shipped"),
            cancelled_at=row.cancelled_at,
        )

    async def due_events(self, limit: int = 100) -> list[WarehouseEvent]:
        """Events whose time has come and that were not delivered yet, oldest first."""
        if not self.auto_events:
            return []
        now = self._clock()
        pending = or_(*(and_(sent.is_(None), at <= now) for at, sent in _COLUMNS.values()))
        async with self._reads() as session:
            rows = await session.scalars(
                select(Release)
                # Rows with every event sent drop out through the shipped_sent_at index.
                .where(Release.shipped_sent_at.is_(None), Release.cancelled_at.is_(None), pending)
                .order_by(Release.released_at, Release.release_id)
                .limit(limit)
            )
            events = [
                WarehouseEvent(
                    shipment_id=row.shipment_id,
                    workflow_id=row.workflow_id,
                    order_id=row.order_id,
                    location_id=row.location_id,
                    type=kind,
                    at=at,
                )
                for row in rows
                for kind, at in _schedule(row).items()
                if at <= now and getattr(row, f"{kind}_sent_at") is None
            ]
        return sorted(events, key=lambda e: e.at)[:limit]

    async def mark_delivered(self, shipment_id: str, *types: EventType) -> None:
        """Record that events reached the OMS, so they are not sent again."""
        now = self._clock()
        # The first delivery time stays: a duplicate send does not move it.
        sent = {_COLUMNS[type][1]: func.coalesce(_COLUMNS[type][1], now) for type in types}
        async with self._sessions.begin() as session:
            await session.execute(
                update(Release)
                .where(Release.shipment_id == shipment_id)
                .values(sent)
                .execution_options(synchronize_session=False)
            )

    async def run_simulator(
        self,
        send: Callable[[WarehouseEvent], Awaitable[None]],
        poll_seconds: float,
        stop: asyncio.Event,
    ) -> None:
        """Report due events through `send` until `stop` is set; a failed send is retried."""
        while not stop.is_set():
            try:
                await self._deliver_due(send)
            except Exception:
                # The database may be restarting; the next poll tries again.
                log.exception("warehouse simulator poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)

    async def _deliver_due(self, send: Callable[[WarehouseEvent], Awaitable[None]]) -> None:
        by_shipment: dict[str, list[WarehouseEvent]] = {}
        for event in await self.due_events():
            by_shipment.setdefault(event.shipment_id, []).append(event)
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(events: list[WarehouseEvent]) -> None:
            # Each shipment's events in order; after a failure, its rest waits for the next poll.
            delivered: list[EventType] = []
            async with gate:
                for event in events:
                    try:
                        await send(event)
                    except Exception:
                        log.warning(
                            "warehouse event not delivered, will retry",
                            shipment_id=event.shipment_id,
                            workflow_id=event.workflow_id,
                            type=event.type,
                            exc_info=True,
                        )
                        break
                    delivered.append(event.type)
            if delivered:
                await self.mark_delivered(events[0].shipment_id, *delivered)

        # Like a real WMS's webhook dispatcher: shipments report in parallel. A shipment whose
        # delivery could not be recorded sends again next poll (receivers tolerate duplicates).
        outcomes = await asyncio.gather(
            *(deliver(events) for events in by_shipment.values()), return_exceptions=True
        )
        for error in (o for o in outcomes if isinstance(o, BaseException)):
            log.warning("warehouse events not recorded as delivered", error=str(error))

    def _schedule(self, row: Release, now: datetime, key: str) -> None:
        pick, pack, ship = self._steps
        row.idempotency_key = key
        row.released_at = now
        row.picked_at = now + scaled(pick, self._time_scale)
        row.packed_at = row.picked_at + scaled(pack, self._time_scale)
        row.shipped_at = row.packed_at + scaled(ship, self._time_scale)
        row.cancelled_at = None
        row.picked_sent_at = row.packed_sent_at = row.shipped_sent_at = None


def _schedule(row: Release) -> dict[EventType, datetime]:
    return {"picked": row.picked_at, "packed": row.packed_at, "shipped": row.shipped_at}


def _ack(row: Release) -> ReleaseAck:
    return ReleaseAck(
        release_id=row.release_id, shipment_id=row.shipment_id, released_at=row.released_at
    )
