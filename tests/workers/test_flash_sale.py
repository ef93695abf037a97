"""`oms simulate --flash-sale`: marketplaces with tracked inventory sell a scarce SKU at once;
with intake reservation and shares, no channel sells what the OMS cannot cover."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import Client

from integrations.channels import amazon, ebay, etsy, walmart
from integrations.channels.base import InventoryLevel
from sandbox.tracked_listings import TrackedListings, pushed_quantity
from store import inventory
from store.tables import Sku
from tests.conftest import ADMIN_KEY, running_stack
from workers.flash_sale import FlashSale, main, run_flash_sale


def test_the_quantity_is_read_back_from_each_platforms_own_request() -> None:
    level = InventoryLevel("SALE-1", 7, "L-1", "SELLER-1")
    requests = {
        "amazon": amazon.inventory_request(level, "SELLER-1", "ATVPDKIKX0DER"),
        "ebay": ebay.inventory_request(level),
        "walmart": walmart.inventory_request(level),
        "etsy": etsy.inventory_request(level),
    }
    for channel, request in requests.items():
        assert pushed_quantity(channel, request.body) == 7, channel
    assert pushed_quantity("ebay", {"requests": []}) is None


async def test_a_flash_sale_at_three_marketplaces_oversells_nothing(
    temporal_client: Client, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, atp_share_below=50) as stack:
        async with stack.sessions.begin() as session:
            session.add(Sku(sku="SALE-1", name="Sale item", weight_grams=200, price=Decimal("9")))
            await session.flush()
            await inventory.adjust(session, "SALE-1", "WH-EAST", 12, "receipt", kind="receipt")
        listings = TrackedListings(stack.sandbox_sessions, "SALE-1", ("amazon", "ebay", "walmart"))
        sale = FlashSale("SALE-1", ("amazon", "ebay", "walmart"), buyers=60, rate=40, seed=3)
        report = await run_flash_sale(stack.http, stack.headers(), listings, sale)
    # Shared out (4 selling marketplaces: 3 units each), never whole to every channel.
    assert report["shown_at_start"] == {"amazon": 3, "ebay": 3, "walmart": 3}
    assert sum(report["accepted"].values()) + sum(report["refused"].values()) == 60
    assert sum(report["statuses"].values()) == sum(report["accepted"].values()) == 9
    assert report["channel_oversold"] == 0


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        ({"sku": None}, "--sku is required"),
        ({"key": None}, "--key"),
        ({"channels": "amazon,shopify"}, "unknown ['shopify']"),
        ({"buyers": 0}, "--buyers"),
    ],
)
def test_bad_flags_are_named(
    flags: dict[str, object], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = {"sku": "S", "key": ADMIN_KEY, "channels": "amazon", "buyers": 5, "rate": 5.0}
    args |= {"seed": None, "api": "http://127.0.0.1:1"} | flags
    assert main(argparse.Namespace(**args), None) == 2  # type: ignore[arg-type]
    assert problem in capsys.readouterr().err
