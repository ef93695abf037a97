"""Partial line cancels pushed to WooCommerce: `WooCommerceClient.cancel_lines` (a refund of the
units with no money and no restock) against the sandbox site over real HTTP, against the REST API
docs' own refund examples, and what the sandbox refuses as WooCommerce core does."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from integrations.channels.shop import ShopRequestError
from integrations.channels.woocommerce_rest import WooCommerceClient
from tests.integrations.channels.conftest import PAYLOADS
from tests.integrations.channels.woo_sandbox import Site, site

__all__ = ["site"]  # the fixture, shared from woo_sandbox

KEY = "order-woocommerce-1:shop-lines:c1"


def documented(name: str) -> Any:
    return json.loads((PAYLOADS / "woocommerce" / name).read_text())


def _refunds(site: Site, order_id: int) -> list[dict[str, Any]]:
    return site.order_state(order_id)["refunds"]  # type: ignore[no-any-return]


async def test_units_come_off_with_one_refund_that_moves_no_money_or_stock(site: Site) -> None:
    order = site.shop.place_order(
        [{"sku": "TSHIRT-S", "quantity": 3}, {"sku": "MUG-12OZ", "quantity": 2}]
    )
    tee, mug = (line["id"] for line in order["line_items"])
    listings = [site.listing(sku)["listing_id"] for sku in ("TSHIRT-S", "MUG-12OZ")]
    stock = [site.stock_of(x) for x in listings]
    lines = [(str(tee), 2), (str(mug), 1)]
    for _ in range(3):  # the activity retried: one refund
        await site.client.cancel_lines(
            str(order["id"]), lines, reason="out of stock", idempotency_key=KEY
        )
    [refund] = _refunds(site, order["id"])
    assert refund["lines"] == {tee: 2, mug: 1}
    assert refund["amount"] == "0.00" and refund["refunded_payment"] is False
    assert refund["reason"].endswith(f"[{KEY}]")
    assert "2 x TSHIRT - S, 1 x MUG-12OZ (out of stock)" in refund["reason"]
    assert "these units came to 30.00 USD" in refund["reason"]
    assert site.order_state(order["id"])["status"] == "processing"  # partially refunded
    assert [site.stock_of(x) for x in listings] == stock  # no restock

    # A second cancel takes the last tee; one more than is left is refused, changing nothing.
    await site.client.cancel_lines(
        str(order["id"]), [(str(tee), 1)], reason="damaged", idempotency_key=f"{KEY}-2"
    )
    with pytest.raises(ShopRequestError) as err:
        await site.client.cancel_lines(
            str(order["id"]), [(str(tee), 1)], reason="x", idempotency_key=f"{KEY}-3"
        )
    assert err.value.code == "oms_too_many_units" and "0 left" in err.value.message
    assert [r["lines"] for r in _refunds(site, order["id"])] == [{tee: 1}, {tee: 2, mug: 1}]


async def test_unknown_lines_and_orders_are_refused(site: Site) -> None:
    order = site.shop.place_order([{"sku": "BEANIE", "quantity": 1}])
    with pytest.raises(ShopRequestError) as err:
        await site.client.cancel_lines(
            str(order["id"]), [("1", 1)], reason="x", idempotency_key=KEY
        )
    assert err.value.code == "oms_unknown_line"
    with pytest.raises(ShopRequestError) as err:
        await site.client.cancel_lines("999999", [("1", 1)], reason="x", idempotency_key=KEY)
    assert err.value.code == "woocommerce_rest_shop_order_invalid_id"
    assert _refunds(site, order["id"]) == []


async def test_the_sandbox_refuses_refunds_as_core_does(site: Site) -> None:
    """`wc_create_refund`'s refusals come back as 500 with
    `woocommerce_rest_cannot_create_order_refund`: the client treats them as refusals (not an
    outage to retry), and nothing is kept."""
    order = site.shop.place_order([{"sku": "MUG-12OZ", "quantity": 2}])
    mug, path = order["line_items"][0]["id"], f"/orders/{order['id']}/refunds"
    item = [{"id": mug, "quantity": 1, "refund_total": 0}]
    cases = [
        # The sandbox's orders are paid by bank transfer, which cannot refund through the API.
        ({"line_items": item}, "does not support automatic refunds"),
        ({"amount": "500", "api_refund": False}, "Invalid refund amount."),
    ]
    for body, message in cases:
        with pytest.raises(ShopRequestError) as err:
            await site.client._json("POST", path, body=body)
        assert err.value.code == "woocommerce_rest_cannot_create_order_refund"
        assert message in err.value.message
    with pytest.raises(ShopRequestError) as err:
        await site.client._json("POST", path, body={"amount": "-1", "api_refund": False})
    assert err.value.code == "woocommerce_rest_invalid_order_refund"
    assert _refunds(site, order["id"]) == []

    # Left to its defaults a refund restocks its units (the order's stock was reduced), and
    # its amount is the line items' totals.
    listing = site.listing("MUG-12OZ")["listing_id"]
    before = site.stock_of(listing)
    made = await site.client._json(
        "POST",
        path,
        body={"api_refund": False, "line_items": [{"id": mug, "quantity": 1, "refund_total": 4}]},
    )
    assert made["amount"] == "4.00" and site.stock_of(listing) == before + 1
    assert any("stock increased" in n["note"] for n in site.order_state(order["id"])["notes"])
    # Everything refunded: the order is `refunded`.
    await site.client._json("POST", path, body={"amount": "26.00", "api_refund": False})
    assert site.order_state(order["id"])["status"] == "refunded"


async def test_the_sandbox_refund_has_the_documented_shape(site: Site) -> None:
    order = site.shop.place_order([{"sku": "BEANIE", "quantity": 2}])
    beanie = order["line_items"][0]["id"]
    await site.client.cancel_lines(
        str(order["id"]), [(str(beanie), 1)], reason="oos", idempotency_key=KEY
    )
    listed = await site.client._json("GET", f"/orders/{order['id']}/refunds")
    [refund] = listed
    created = documented("order_refund_create.json")
    assert set(created) <= set(refund)
    assert set(refund) - set(created) == {"shipping_lines", "tax_lines", "fee_lines"}
    assert set(refund["_links"]) == set(created["_links"])
    [line] = refund["line_items"]
    [doc_line] = documented("order_refunds_list.json")[1]["line_items"]
    assert set(line) == set(doc_line)
    assert (line["quantity"], line["total"], line["price"]) == (-1, "0.00", 0.0)
    assert line["meta_data"][0]["key"] == "_refunded_item_id"
    assert line["meta_data"][0]["value"] == str(beanie)
    one = await site.client._json("GET", f"/orders/{order['id']}/refunds/{refund['id']}")
    assert one == refund
    summary = (await site.client._json("GET", f"/orders/{order['id']}"))["refunds"]
    assert summary == [{"id": refund["id"], "refund": refund["reason"], "total": "-0.00"}]


async def test_against_the_documented_order_and_refunds() -> None:
    """The docs' order 723 (derived: as if still `processing`) has line 311 (one unit, taken
    back by the docs' refund 724, whose line item names it in `_refunded_item_id`) and line
    313 (one unit). The client reads those refunds: 311 has nothing left to take off; 313's
    unit is taken off with a refund in the documented request shape."""
    order = next(o for o in documented("orders_list.json") if o["id"] == 723)
    order = {**order, "status": "processing"}
    refunds = documented("order_refunds_list.json")
    posted: list[dict[str, Any]] = []

    def shop(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/wp-json/wc/v3")
        if request.method == "POST" and path == "/orders/723/refunds":
            posted.append(json.loads(request.content))
            return httpx.Response(201, json=documented("order_refund_create.json"))
        body = {"/orders/723": order, "/orders/723/refunds": refunds}[path]
        return httpx.Response(200, json=body, headers={"X-WP-TotalPages": "1"})

    client = WooCommerceClient(
        "https://example.com", "ck", "cs", transport=httpx.MockTransport(shop)
    )
    try:
        with pytest.raises(ShopRequestError) as err:
            await client.cancel_lines("723", [("311", 1)], reason="oos", idempotency_key=KEY)
        assert err.value.code == "oms_too_many_units" and "0 left" in err.value.message
        assert posted == []
        await client.cancel_lines("723", [("313", 1)], reason="oos", idempotency_key=KEY)
        [body] = posted
        assert body["line_items"] == [{"id": 313, "quantity": 1, "refund_total": 0}]
        assert (body["amount"], body["api_refund"], body["api_restock"]) == ("0", False, False)
        assert body["reason"].endswith(f"[{KEY}]") and "1 x Woo Ninja (oos)" in body["reason"]
        assert "these units came to 20.00 USD" in body["reason"]

        # Derived: the docs' refund 726 as if its reason carried our key: done, nothing posted.
        refunds[:] = copy.deepcopy(refunds)
        refunds[0]["reason"] = f"earlier attempt [{KEY}]"
        await client.cancel_lines("723", [("313", 1)], reason="oos", idempotency_key=KEY)
        assert len(posted) == 1
    finally:
        await client.aclose()
