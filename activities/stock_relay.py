"""The stock-change relay: from the `stock_changes` outbox to the channels' inventory syncs.

Every change of available-to-promise adds an outbox row in the same transaction as the change
(store/inventory.py), so a crash between a stock write and its signal loses nothing. The
relay, running beside every worker, takes the oldest rows, tells each channel's
InventorySyncWorkflow once per batch (a flash sale of a thousand orders is a handful of
signals, not six thousand), and deletes the rows only after every channel heard; a failed
signal leaves them for the next pass. Two workers may relay the same rows: the syncs coalesce.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.channels import DEFAULT_SYNC_CHANNELS, StockSyncUnavailable, notify_stock_changed
from activities.shops import sync_key
from services import stock_shares
from store.connection_tables import ChannelConnection
from store.db import readers
from store.tables import StockChange

log = structlog.get_logger(__name__)
# Rows per pass; a full batch is followed at once by the next one.
BATCH = 500
# Pause between passes that found less than a batch: the relay's share of the sync lag. An
# empty outbox costs one indexed read; a pass with changes signals each channel's sync once
# (a workflow task each), so five passes a second keep that cost flat however many orders
# arrive, and the syncs coalesce for a quarter second more.
INTERVAL_S = 0.2
# After a failed pass, wait longer before trying again (Temporal may be restarting).
RETRY_S = 2.0


class StockChangeRelay:
    """Drains the outbox into one signal per channel per batch."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: Client,
        task_queue: str,
        *,
        channels: Sequence[str] = DEFAULT_SYNC_CHANNELS,
        batch: int = BATCH,
        interval_s: float = INTERVAL_S,
        share_below: int | Callable[[], int] = 0,
    ) -> None:
        self._sessions, self._client, self._task_queue = sessions, client, task_queue
        self._reads = readers(sessions)
        self._channels, self._batch, self._interval_s = channels, batch, interval_s
        self._share_below = share_below if callable(share_below) else lambda: share_below
        # sku -> when to share it out again (a channel was selling; held in memory: a restart
        # forgets it until the SKU's stock next changes, which only delays a rebalance)
        self._recheck: dict[str, datetime] = {}

    async def relay_once(self) -> int:
        """Relay the oldest batch; returns how many rows it took (0 when the outbox is empty)."""
        async with self._reads() as session:
            rows = (
                await session.execute(
                    select(StockChange.id, StockChange.sku, StockChange.changed_at)
                    .order_by(StockChange.id)
                    .limit(self._batch)
                )
            ).all()
        since: dict[str, datetime] = {}
        for _, sku, changed_at in rows:
            since.setdefault(sku, changed_at)  # oldest first: the lag counts from here
        # Shares that waited for a selling channel to go quiet: their time has come.
        now = datetime.now(UTC)
        due = {s: at for s, at in self._recheck.items() if at <= now}
        for sku in due:
            since.setdefault(sku, now)
        if not since:
            return 0
        async with self._reads() as session:
            # Connected shops come and go: each pass tells the ones connected now.
            connected = await session.scalars(
                select(ChannelConnection.connection_id).where(ChannelConnection.status == "active")
            )
            shops = [sync_key(c) for c in connected]
        # Scarce SKUs get their channel shares before any channel hears of the change.
        reshared = await stock_shares.reshare(
            self._sessions, list(since), self._channels, self._share_below()
        )
        await notify_stock_changed(
            self._client,
            since.keys(),
            task_queue=self._task_queue,
            channels=[*self._channels, *shops],
            since=since,
            urgent=reshared.scarce,
        )
        for sku, at in due.items():  # told; kept if the relay fails before here
            if self._recheck.get(sku) == at:
                del self._recheck[sku]
        self._recheck.update(reshared.recheck)
        if rows:
            async with self._sessions.begin() as session:
                await session.execute(
                    delete(StockChange).where(StockChange.id.in_([row_id for row_id, *_ in rows]))
                )
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; outages are logged and retried, never raised."""
        while not stop.is_set():
            pause = self._interval_s
            try:
                if await self.relay_once() >= self._batch:
                    pause = 0
            except StockSyncUnavailable as err:
                log.warning("stock changes kept for the next pass", error=str(err))
                pause = RETRY_S
            except Exception:
                log.exception("stock-change relay pass failed")
                pause = RETRY_S
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
