"""Channel ingest as a service: its outcome is a business fact, not an HTTP status."""

from __future__ import annotations

import json
from typing import cast

import pytest
from sqlalchemy import select
from temporalio.client import Client

from config.settings import Settings
from domain.errors import Unavailable
from services import channels as ingest
from store.channel_tables import ChannelDeadLetter, ChannelDelivery
from tests.read_model import PAYLOADS, ReadModel


def delivery(delivery_id: str, **changes: object) -> ingest.Delivery:
    """Shopify's documented orders/create payload as a webhook delivery."""
    doc = json.loads((PAYLOADS / "shopify_orders_create.json").read_text()) | changes
    return ingest.Delivery("shopify", delivery_id, "orders/create", json.dumps(doc).encode())


async def test_outcomes_accepted_duplicate_and_rejected(read_model: ReadModel) -> None:
    sessions, started = read_model.sessions, read_model.temporal.started
    client = cast(Client, read_model.temporal)
    first = await ingest.receive(sessions, client, Settings(), delivery("evt-1"))
    assert (first.status, first.created) == ("accepted", True)
    assert started == ["order-shopify-820982911946154508"]
    again = await ingest.receive(sessions, client, Settings(), delivery("evt-1"))
    assert (again.status, again.order_id) == ("duplicate", first.order_id)

    # The intake's refusal (an unknown SKU) is `rejected`, with the field, and dead-lettered.
    lines = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())["line_items"]
    lines[1]["sku"] = "NEW-SKU"
    unknown = await ingest.receive(
        sessions, client, Settings(), delivery("evt-2", id=2, line_items=lines)
    )
    assert (unknown.status, unknown.field) == ("rejected", "lines[1].sku")
    assert "NEW-SKU" in unknown.reason and unknown.dead_letter_id is not None
    async with sessions() as session:
        letter = await session.get(ChannelDeadLetter, unknown.dead_letter_id)
        ledger = await session.scalar(
            select(ChannelDelivery.status).where(ChannelDelivery.delivery_id == "evt-2")
        )
    assert letter is not None and letter.field == "lines[1].sku" and ledger == "rejected"
    assert len(started) == 1  # nothing started for it


async def test_without_temporal_the_delivery_waits_for_a_retry(read_model: ReadModel) -> None:
    with pytest.raises(Unavailable):
        await ingest.receive(read_model.sessions, None, Settings(), delivery("evt-3"))
    async with read_model.sessions() as session:
        ledger = await session.scalar(
            select(ChannelDelivery.status).where(ChannelDelivery.delivery_id == "evt-3")
        )
    assert ledger == "received"  # processed when the channel delivers it again
