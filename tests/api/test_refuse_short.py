"""OMS_REFUSE_SHORT_CHANNELS: a channel that can tell its buyer now gets a 409 naming the line
when intake cannot cover it, and nothing is recorded; other channels backorder."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from temporalio.client import Client

from config.settings import Settings
from store import inventory
from store.tables import Order, Sku
from tests.conftest import canonical_order, running_stack


def line(quantity: int) -> list[dict[str, object]]:
    return [{"line_id": "1", "sku": "RARE-1", "quantity": quantity, "unit_price": "19.99"}]


async def test_a_web_order_stock_cannot_cover_is_refused_and_nothing_is_kept(
    temporal_client: Client, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, refuse_short_channels=["web"]) as stack:
        async with stack.sessions.begin() as session:
            session.add(Sku(sku="RARE-1", name="Rare", weight_grams=100, price=Decimal("19.99")))
            await session.flush()
            await inventory.adjust(session, "RARE-1", "WH-EAST", 2, "receipt", kind="receipt")

        refused = await stack.post("/v1/orders", canonical_order("w-1", lines=line(3)))
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["error"] == "out_of_stock"
        assert body["detail"] == [
            {
                "field": "lines[0].quantity",
                "message": "RARE-1: 3 wanted, 2 available across the network "
                "(channel 'web' refuses orders stock cannot cover)",
            }
        ]
        async with stack.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Order)) == 0
        view = (await stack.get("/v1/inventory/RARE-1")).json()
        assert (view["promised"], view["network_available"]) == (0, 2)

        # The same order, now coverable, is taken (the refusal kept nothing in the way).
        taken = await stack.post("/v1/orders", canonical_order("w-1", lines=line(2)))
        assert taken.status_code == 202, taken.text
        # A call-centre order is not refused: it backorders what is missing.
        phone = await stack.post(
            "/v1/orders", canonical_order("c-1", channel="call_centre", lines=line(1))
        )
        assert phone.status_code == 202, phone.text
        await stack.wait_for(phone.json()["order_id"], "backordered")


def test_a_marketplace_cannot_be_set_to_refuse() -> None:
    with pytest.raises(ValidationError, match="amazon took the order"):
        Settings(refuse_short_channels="web,amazon")
    assert Settings(refuse_short_channels="web, pos").refuse_short_channels == ["web", "pos"]
