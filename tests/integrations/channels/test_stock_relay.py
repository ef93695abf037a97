"""The stock-change relay: outbox rows reach every channel's sync, and stay until they did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.channels import DEFAULT_SYNC_CHANNELS, sync_workflow_id
from activities.io import StockChanged
from activities.stock_relay import StockChangeRelay
from store import inventory
from store.db import session_factory
from store.tables import Location, Sku, StockChange
from tests.conftest import Stack
from tests.integrations.channels.test_pull_and_sync import wait_push


async def _outbox_size(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(StockChange)) or 0)


async def test_an_adjustment_reaches_every_channel_through_the_outbox(
    temporal_client: Client, chan: Stack
) -> None:
    response = await chan.post(
        "/v1/inventory/adjustments",
        {"sku": "MUG-12OZ", "location_id": "WH-EAST", "delta": 7, "reason": "cycle count"},
    )
    assert response.status_code == 200, response.text
    available = response.json()["available"]
    # Nothing called the channels: the relay beside the worker found the outbox row.
    await wait_push(
        chan,
        "walmart",
        "MUG-12OZ",
        {"sku": "MUG-12OZ", "quantity": {"unit": "EACH", "amount": available}},
    )
    assert await _outbox_size(chan.engine) == 0
    for channel in DEFAULT_SYNC_CHANNELS:
        handle = temporal_client.get_workflow_handle(
            sync_workflow_id(channel, chan.settings.task_queue)
        )
        await handle.terminate("test over")


class FlakyTemporal:
    """Answers signal-with-start like Temporal, failing the first call for one channel."""

    def __init__(self, failing: str) -> None:
        self.failing = failing
        self.signals: list[tuple[str, StockChanged]] = []

    async def start_workflow(
        self, *_: Any, id: str, start_signal_args: list[Any], **__: Any
    ) -> None:
        if self.failing and id.endswith(self.failing):
            self.failing = ""
            raise RuntimeError("Temporal frontend unavailable")
        self.signals.append((id, start_signal_args[0]))


async def test_rows_stay_until_every_channel_heard(migrated_engine: AsyncEngine) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        session.add(Location(location_id="L1", name="L1", kind="warehouse", lat=0, lon=0))
        session.add_all([Sku(sku="A", name="a"), Sku(sku="B", name="b")])
        await session.flush()
        for sku, units in (("A", 5), ("B", 3), ("A", 1)):
            await inventory.adjust(session, sku, "L1", units, "receipt")
    async with sessions() as session:
        first_a = await session.scalar(
            select(func.min(StockChange.changed_at)).where(StockChange.sku == "A")
        )
    temporal = FlakyTemporal(failing="ebay")
    relay = StockChangeRelay(sessions, temporal, "tq", channels=("shopify", "ebay"))  # type: ignore[arg-type]

    with pytest.raises(Exception, match="ebay"):
        await relay.relay_once()
    assert await _outbox_size(migrated_engine) == 3  # nothing lost to the outage

    assert await relay.relay_once() == 3
    assert await _outbox_size(migrated_engine) == 0
    assert await relay.relay_once() == 0
    last = {wf_id: change for wf_id, change in temporal.signals}
    assert set(last) == {sync_workflow_id("shopify", "tq"), sync_workflow_id("ebay", "tq")}
    change = last[sync_workflow_id("ebay", "tq")]
    assert change.skus == ["A", "B"]  # one signal per channel for the whole batch
    assert isinstance(first_a, datetime)
    assert change.since["A"].replace(tzinfo=None) == first_a.replace(tzinfo=None)
