"""`ShopifyAdminClient` against the sandbox shop over real HTTP: every protocol method, the
throttles, auth, idempotency, and a pulled order mapping exactly like its webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from integrations.channels import shopify
from integrations.channels.base import signature_valid
from integrations.channels.shop import (
    ShopClient,
    ShopFulfilment,
    ShopRequestError,
    ShopStock,
    ShopUnavailable,
)
from integrations.channels.shopify_admin import ShopifyAdminClient, gid, numeric
from sandbox.shopify_shop import ShopifyShop
from tests.helpers import eventually
from tests.integrations.channels.shopify_sandbox import (
    APP_SECRET,
    TOKEN,
    Received,
    Sandbox,
    receiver,
    served,
    shopify_sandbox,
)


def test_ids_normalise_between_numeric_and_gid() -> None:
    assert gid("ProductVariant", "123") == "gid://shopify/ProductVariant/123"
    assert gid("Order", "gid://shopify/Order/9") == "gid://shopify/Order/9"
    assert numeric("gid://shopify/InventoryItem/77?v=1") == "77" and numeric("77") == "77"


async def test_listings_locations_and_stock() -> None:
    async with shopify_sandbox() as sb:
        client: ShopClient = sb.client
        listings = await client.listings()
        by_sku = {item.sku: item for item in listings}
        assert set(by_sku) == {"TSHIRT-M", "CAP-BLK", None}
        tee = by_sku["TSHIRT-M"]
        variant = sb.shop.variant(sku="TSHIRT-M")
        assert (tee.listing_id, tee.inventory_item_id) == (
            str(variant["id"]),
            str(variant["inventory_item_id"]),
        )
        assert tee.barcode == "0001" and tee.parent_id == str(variant["product_id"])
        locations = await client.locations()
        assert [loc.name for loc in locations] == ["Shop warehouse", "Shop store"]

        await client.set_stock(
            [
                ShopStock(tee.inventory_item_id, 11, locations[1].location_ref),
                ShopStock(by_sku["CAP-BLK"].inventory_item_id, 0, locations[0].location_ref),
            ]
        )
        await client.set_stock([ShopStock(tee.inventory_item_id, 11, locations[1].location_ref)])
        levels = {
            (lv["sku"], str(lv["location_id"])): lv["available"]
            for lv in (await httpx.AsyncClient().get(f"{sb.url}/_sandbox/inventory")).json()[
                "levels"
            ]
        }
        assert levels[("TSHIRT-M", locations[1].location_ref)] == 11
        assert levels[("TSHIRT-M", locations[0].location_ref)] == 5  # untouched
        assert levels[("CAP-BLK", locations[0].location_ref)] == 0

        with pytest.raises(ShopRequestError) as err:
            await client.set_stock([ShopStock("999999", 1, locations[0].location_ref)])
        assert "inventoryItemId" in err.value.message


async def test_paging_follows_cursors() -> None:
    async with shopify_sandbox() as sb:
        sb.shop.seed(products=[{"sku": f"BULK-{n}", "price": "1.00"} for n in range(230)])
        listings = await sb.client.listings()
        assert len(listings) == 233 and len({item.listing_id for item in listings}) == 233


async def test_fulfil_twice_is_one_fulfillment_and_lines_fulfil_part() -> None:
    async with shopify_sandbox() as sb:
        order = sb.shop.place_order(
            {"lines": [{"sku": "TSHIRT-M", "quantity": 2}, {"sku": "CAP-BLK", "quantity": 1}]}
        )
        tee_line = str(order["line_items"][0]["id"])
        part = ShopFulfilment(str(order["id"]), "UPS", "1Z001", "https://ups.example/1Z001")
        part = ShopFulfilment(**{**part.__dict__, "lines": [(tee_line, 1)]})
        first = await sb.client.fulfil(part, idempotency_key="order-shopify-1:ship:1")
        again = await sb.client.fulfil(part, idempotency_key="order-shopify-1:ship:1")
        assert first == again
        rest = ShopFulfilment(str(order["id"]), "USPS", "9400", "https://usps.example/9400")
        second = await sb.client.fulfil(rest, idempotency_key="order-shopify-1:ship:2")
        assert second != first

        listed = (await httpx.AsyncClient().get(f"{sb.url}/_sandbox/fulfillments")).json()
        mine = [f for f in listed["fulfillments"] if f["order_id"] == order["id"]]
        assert [f["tracking_numbers"] for f in mine] == [["1Z001"], ["9400"]]
        assert mine[0]["line_items"] == [{"line_item_id": int(tee_line), "quantity": 1}]
        assert sorted((i["line_item_id"], i["quantity"]) for i in mine[1]["line_items"]) == sorted(
            [(int(tee_line), 1), (order["line_items"][1]["id"], 1)]
        )
        assert mine[0]["tracking_company"] == "UPS" and mine[0]["notify_customer"] is True

        with pytest.raises(ShopRequestError) as err:
            await sb.client.fulfil(
                ShopFulfilment(str(order["id"]), "UPS", "1Z999", "u"), idempotency_key="x"
            )
        assert err.value.code == "nothing_to_fulfil"


async def test_cancel_and_note_are_idempotent() -> None:
    async with shopify_sandbox() as sb:
        order = sb.shop.place_order({"lines": [{"sku": "CAP-BLK", "quantity": 1}]})
        ref = str(order["id"])
        await sb.client.note(ref, "Refund of 15.00 issued for RMA-1", idempotency_key="n1")
        await sb.client.note(ref, "Refund of 15.00 issued for RMA-1", idempotency_key="n1")
        await sb.client.note(ref, "Refund of 3.00 issued for RMA-2", idempotency_key="n2")
        assert sb.shop.order(ref)["note"] == (
            "Refund of 15.00 issued for RMA-1\nRefund of 3.00 issued for RMA-2"
        )
        await sb.client.cancel(ref, reason="out of stock at every location", idempotency_key="c")
        await sb.client.cancel(ref, reason="out of stock at every location", idempotency_key="c")
        state = (await httpx.AsyncClient().get(f"{sb.url}/_sandbox/state")).json()
        assert [c["order_id"] for c in state["cancellations"]] == [order["id"]]
        assert state["cancellations"][0]["reason"] == "inventory"
        with pytest.raises(ShopRequestError) as err:
            await sb.client.cancel("424242", reason="x", idempotency_key="c2")
        assert err.value.code == "not_found"


async def test_pulled_orders_map_exactly_like_their_webhooks() -> None:
    received = Received()
    async with shopify_sandbox() as sb, served(receiver(received)) as hooks:
        topics = await sb.client.subscribe_webhooks(f"{hooks}/hooks")
        assert await sb.client.subscribe_webhooks(f"{hooks}/hooks") == topics
        assert len(sb.shop.state["webhooks"]) == 4  # repeat-safe: not doubled
        since = datetime.now(UTC) - timedelta(seconds=5)
        paid = sb.shop.place_order(
            {
                "lines": [{"sku": "TSHIRT-M", "quantity": 2}, {"sku": "CAP-BLK", "quantity": 1}],
                "email": "ann@example.com",
                "customer": {"first_name": "Ann", "last_name": "Lee", "phone": "+15125550100"},
                "shipping": {"title": "Express", "code": "EXPRESS", "price": "9.50"},
                "total_tax": "3.20",
            }
        )
        pending = sb.shop.place_order(
            {"lines": [{"variant_id": _skuless(sb)}], "financial_status": "pending"}
        )
        await eventually(lambda: len(received.calls) >= 2)
        delivered = {}
        for headers, body in received.calls:
            assert signature_valid([APP_SECRET], body, headers["x-shopify-hmac-sha256"])
            assert headers["x-shopify-topic"] == "orders/create"
            delivered[json.loads(body)["id"]] = shopify.interpret("orders/create", body)

        pulled = {o.external_id: o for o in await sb.client.orders_since(since)}
        assert set(pulled) == {str(paid["id"]), str(pending["id"])}
        for ref, action in delivered.items():
            pull = pulled[str(ref)]
            assert shopify.interpret(pull.topic, json.dumps(pull.doc).encode()) == action
        held = delivered[pending["id"]]
        assert held.awaiting_payment is True and held.order.lines[0].sku == "-"  # type: ignore[union-attr]
        assert pulled[str(paid["id"])].topic == "orders/paid"
        assert await sb.client.orders_since(datetime.now(UTC) + timedelta(hours=1)) == []


def _skuless(sb: Sandbox) -> int:
    """The seeded variant without a SKU (the gift wrap)."""
    return next(int(v["id"]) for v in sb.shop.state["variants"].values() if not v["sku"])


async def test_persistent_429_is_unavailable_with_its_retry_after() -> None:
    async with shopify_sandbox(max_wait_s=1.0) as sb:
        sb.limits.rate_limited_until = 0
        async with httpx.AsyncClient() as http:
            await http.post(
                f"{sb.url}/_sandbox/throttle", json={"rate_limit_for_s": 30, "retry_after_s": 2}
            )
        with pytest.raises(ShopUnavailable) as err:
            await sb.client.locations()
        assert err.value.code == "throttled" and err.value.retry_after_s is not None
        assert err.value.retry_after_s >= 2


async def test_a_short_429_is_waited_out() -> None:
    async with shopify_sandbox(max_wait_s=3.0) as sb:
        async with httpx.AsyncClient() as http:
            await http.post(
                f"{sb.url}/_sandbox/throttle", json={"rate_limit_for_s": 0.3, "retry_after_s": 0.4}
            )
        assert len(await sb.client.locations()) == 2


async def test_throttled_bucket_refills_transparently_or_raises_when_persistent() -> None:
    async with shopify_sandbox(max_wait_s=3.0) as sb:
        async with httpx.AsyncClient() as http:
            # 102 points needed, 2 left, 100 back per second: about one second's wait.
            await http.post(f"{sb.url}/_sandbox/throttle", json={"currently_available": 2})
            assert len(await sb.client.listings()) == 3
            await http.post(
                f"{sb.url}/_sandbox/throttle", json={"currently_available": 0, "restore_rate": 1}
            )
        with pytest.raises(ShopUnavailable) as err:
            await sb.client.listings()
        assert err.value.code == "throttled" and err.value.retry_after_s is not None
        assert err.value.retry_after_s > 50  # 102 points at 1 point/s, from throttleStatus


async def test_bad_token_and_graphql_errors_are_request_errors() -> None:
    async with shopify_sandbox() as sb:
        wrong = ShopifyAdminClient(sb.url, "shpat_wrong")
        try:
            with pytest.raises(ShopRequestError) as err:
                await wrong.listings()
            assert err.value.code == "unauthorized" and "access token" in err.value.message
        finally:
            await wrong.aclose()
        with pytest.raises(ShopRequestError) as gql_err:
            await sb.client.query("query { shopNope { id } }")
        assert gql_err.value.code == "graphql" and "shopNope" in gql_err.value.message
        with pytest.raises(ShopRequestError) as user_err:
            await sb.client.subscribe_webhooks("not-a-url")
        assert "webhookSubscription.uri" in user_err.value.message


async def test_strict_versions_need_the_idempotency_directive() -> None:
    async with shopify_sandbox() as sb:
        item = (await sb.client.listings())[0].inventory_item_id
        location = (await sb.client.locations())[0].location_ref
        document = """mutation($input: InventorySetQuantitiesInput!) {
          inventorySetQuantities(input: $input) { userErrors { field message } } }"""
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {
                        "inventoryItemId": gid("InventoryItem", item),
                        "locationId": gid("Location", location),
                        "quantity": 1,
                    }
                ],
            }
        }
        with pytest.raises(ShopRequestError) as err:
            await sb.client.query(document, variables)
        assert "@idempotent" in err.value.message


async def test_shop_down_is_unavailable() -> None:
    client = ShopifyAdminClient("http://127.0.0.1:9", "t")
    try:
        with pytest.raises(ShopUnavailable) as err:
            await client.locations()
        assert err.value.code == "network"
    finally:
        await client.aclose()
    failing = httpx.MockTransport(lambda request: httpx.Response(502, text="bad gateway"))
    client = ShopifyAdminClient("https://x.myshopify.com", "t", transport=failing)
    try:
        with pytest.raises(ShopUnavailable) as err:
            await client.locations()
        assert err.value.code == "http_502"
    finally:
        await client.aclose()


async def test_a_persisted_shop_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "shopify.json"
    shop = ShopifyShop(state_path=path).seed(products=[{"sku": "MUG", "price": "8.00"}])
    order = shop.place_order({"lines": [{"sku": "MUG", "quantity": 2}]})
    restarted = ShopifyShop(state_path=path)
    assert restarted.variant(sku="MUG") == shop.variant(sku="MUG")
    assert restarted.order(order["id"])["line_items"] == order["line_items"]
    # Ids keep counting from where they were: nothing is reused after the restart.
    again = restarted.place_order({"lines": [{"sku": "MUG", "quantity": 1}]})
    assert again["id"] > order["id"]


async def test_the_sandbox_speaks_shopifys_wire_format() -> None:
    async with shopify_sandbox() as sb, httpx.AsyncClient(base_url=sb.url) as http:
        path = "/admin/api/2026-10/graphql.json"
        query = {"query": "query { locations(first: 5) { nodes { id name } } }"}
        denied = await http.post(path, json=query)
        assert denied.status_code == 401 and "access token" in denied.json()["errors"]
        auth = {"X-Shopify-Access-Token": TOKEN}
        ok = (await http.post(path, json=query, headers=auth)).json()
        ids = [n["id"] for n in ok["data"]["locations"]["nodes"]]
        assert len(ids) == 2 and all(i.startswith("gid://shopify/Location/") for i in ids)
        cost = ok["extensions"]["cost"]
        assert cost["requestedQueryCost"] == 7 and cost["actualQueryCost"] <= 7
        assert cost["throttleStatus"]["maximumAvailable"] == 2000
        assert cost["throttleStatus"]["restoreRate"] == 100
        await http.post("/_sandbox/throttle", json={"currently_available": 0, "restore_rate": 1})
        throttled = (await http.post(path, json=query, headers=auth)).json()
        assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert throttled["extensions"]["cost"]["actualQueryCost"] is None
        assert "data" not in throttled
