"""`oms simulate` sends signed deliveries the API accepts, and counts redeliveries as duplicates."""

from __future__ import annotations

import argparse

from tests.conftest import ADMIN_KEY, Stack
from tests.integrations.channels.conftest import SHOPIFY_SECRET, WOO_SECRET
from workers import simulate


async def test_simulated_mixed_traffic_with_duplicates(chan: Stack) -> None:
    args = argparse.Namespace(
        orders=12,
        rate=200.0,
        channel="mixed",
        duplicates=0.3,
        api="http://oms.test",
        key=ADMIN_KEY,
        seed=7,
        shopify_secret=SHOPIFY_SECRET,
        woocommerce_secret=WOO_SECRET,
    )
    counts = await simulate.run(args, chan.settings, http=chan.http)
    assert counts["accepted"] + counts["duplicate"] == 12, counts
    assert counts["duplicate"] >= 1 and counts["dead_letters_open"] == 0
    listed = (await chan.get("/v1/orders?limit=500")).json()["items"]
    assert len(listed) == counts["accepted"]
