"""Group commit for intake: concurrent submissions share one write transaction.

Whatever arrives while a batch is being written waits for the next one, so a lone order is
written at once and a burst is written in a few transactions (store/intake.py). A failed
batch is written again one order per transaction, so only the order at fault fails (its
caller answers 5xx and the channel sends again); nothing is half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.intake import Intake, Recorded, record_orders

# Orders per transaction: large enough for a flash sale's bursts, small enough that one
# transaction never holds the SKU locks for long.
MAX_BATCH = 64


class IntakeWriter:
    """Writes queued intakes in batches, one transaction at a time."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._queue: list[tuple[Intake, asyncio.Future[Recorded]]] = []
        self._task: asyncio.Task[None] | None = None

    async def record(self, intake: Intake) -> Recorded:
        """Queue one intake and wait until its batch has committed."""
        done: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._queue.append((intake, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        # Shielded: a caller that gives up must not cancel the batch its neighbours are in.
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._write(batch)
            except Exception:
                if len(batch) == 1:
                    continue  # its caller has the error
                # One bad order must not fail its neighbours: each alone, in its own transaction.
                for one in batch:
                    with contextlib.suppress(Exception):
                        await self._write([one])

    async def _write(self, batch: list[tuple[Intake, asyncio.Future[Recorded]]]) -> None:
        """One transaction for the batch; each caller gets its result, or the error of a
        batch of one."""
        try:
            async with self._sessions.begin() as session:
                results = await record_orders(session, [intake for intake, _ in batch])
        except Exception as err:
            if len(batch) == 1 and not batch[0][1].done():
                batch[0][1].set_exception(err)
            raise
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)


_writers: weakref.WeakKeyDictionary[
    async_sessionmaker[AsyncSession], dict[asyncio.AbstractEventLoop, IntakeWriter]
] = weakref.WeakKeyDictionary()


def writer_for(sessions: async_sessionmaker[AsyncSession]) -> IntakeWriter:
    """The writer of these sessions on the running loop (one per database and loop)."""
    loop = asyncio.get_running_loop()
    per_loop = _writers.setdefault(sessions, {})
    writer = per_loop.get(loop)
    if writer is None:
        writer = per_loop[loop] = IntakeWriter(sessions)
    return writer
