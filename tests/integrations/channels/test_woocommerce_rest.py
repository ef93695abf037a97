"""The real WooCommerce REST v3 client against the sandbox site, served over real HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from integrations.channels.shop import (
    ShopFulfilment,
    ShopLocation,
    ShopRequestError,
    ShopStock,
)
from integrations.channels.woocommerce_rest import WooCommerceClient
from tests.integrations.channels.conftest import PAYLOADS
from tests.integrations.channels.woo_sandbox import (
    SECRET,
    Site,
    site,
)

__all__ = ["site"]  # the fixture, shared from woo_sandbox


async def test_listings_are_products_and_each_variation_with_its_parent_across_pages(
    site: Site,
) -> None:
    extra = [f"BULK-{n:03d}-X" for n in range(230)]  # distinct stems: all simple products
    site.shop.seed(extra)
    found = await site.client.listings()
    by_sku = {x.sku: x for x in found}
    assert len(found) == len(site.listings) + len(extra)  # 3 pages of products were read
    assert set(extra) <= set(by_sku)
    tshirt_m = site.listing("TSHIRT-M")
    variation = by_sku["TSHIRT-M"]
    assert variation.listing_id == variation.inventory_item_id == str(tshirt_m["listing_id"])
    assert variation.parent_id == str(tshirt_m["parent_id"])
    skuless = [x for x in found if x.sku is None]
    assert len(skuless) == 1 and skuless[0].parent_id == variation.parent_id
    assert "Gift" in skuless[0].title
    assert by_sku["MUG-12OZ"].parent_id is None
    # The variable product itself is not sellable: only its variations are listings.
    assert variation.parent_id not in {x.listing_id for x in found}


async def test_one_location_named_after_the_site(site: Site) -> None:
    assert await site.client.locations() == [ShopLocation("", "OMS Sandbox Shop")]


async def test_stock_goes_to_variations_at_their_own_route_in_batches(site: Site) -> None:
    bulk = site.shop.seed([f"BULK-{n:03d}-X" for n in range(120)])
    tshirt = site.listing("TSHIRT-L")
    skuless = next(x for x in site.listings if not x["sku"])
    levels = [
        ShopStock(str(tshirt["listing_id"]), 7, parent_id=str(tshirt["parent_id"])),
        ShopStock(str(skuless["listing_id"]), 3, parent_id=str(skuless["parent_id"])),
        ShopStock(str(site.listing("MUG-12OZ")["listing_id"]), 0),
        *(ShopStock(str(x["listing_id"]), 40 + i) for i, x in enumerate(bulk)),
    ]
    await site.client.set_stock(levels)
    assert site.stock_of(tshirt["listing_id"]) == 7
    assert site.stock_of(skuless["listing_id"]) == 3
    assert site.stock_of(site.listing("MUG-12OZ")["listing_id"]) == 0
    assert [site.stock_of(x["listing_id"]) for x in bulk] == [40 + i for i in range(120)]
    # A variation is not a product: addressed without its parent, WooCommerce refuses it.
    with pytest.raises(ShopRequestError) as err:
        await site.client.set_stock([ShopStock(str(tshirt["listing_id"]), 1)])
    assert "woocommerce_rest_product_invalid_id" in err.value.message
    assert site.stock_of(tshirt["listing_id"]) == 7


async def test_fulfil_twice_is_one_note_and_the_last_parcel_completes(site: Site) -> None:
    order = site.shop.place_order(
        [{"sku": "MUG-12OZ", "quantity": 1}, {"sku": "TSHIRT-S", "quantity": 2}]
    )
    parcel = ShopFulfilment(
        str(order["id"]),
        "UPS",
        "1Z999AA10123456784",
        "https://ups.example/1Z999AA10123456784",
        lines=[(str(order["line_items"][0]["id"]), 1)],
    )
    first = await site.client.fulfil(parcel, idempotency_key="order-woocommerce-1:ship:1")
    again = await site.client.fulfil(parcel, idempotency_key="order-woocommerce-1:ship:1")
    state = site.order_state(order["id"])
    tracked = [n for n in state["notes"] if "1Z999AA10123456784" in n["note"]]
    assert first == again and len(tracked) == 1 and tracked[0]["customer_note"] is True
    assert "UPS" in tracked[0]["note"] and "1 x MUG-12OZ" in tracked[0]["note"]
    assert state["status"] == "processing"

    last = ShopFulfilment(str(order["id"]), "USPS", "9400100000000000000000", "", last_parcel=True)
    await site.client.fulfil(last, idempotency_key="order-woocommerce-1:ship:2")
    await site.client.fulfil(last, idempotency_key="order-woocommerce-1:ship:2")
    state = site.order_state(order["id"])
    assert state["status"] == "completed"
    assert sum("9400100000000000000000" in n["note"] for n in state["notes"]) == 1


async def test_cancel_and_notes_are_idempotent(site: Site) -> None:
    order = site.shop.place_order([{"sku": "BEANIE", "quantity": 2}])
    beanie = site.listing("BEANIE")["listing_id"]
    assert site.stock_of(beanie) == 23  # WooCommerce reduced stock for the paid order
    for _ in range(2):
        await site.client.cancel(str(order["id"]), reason="out of stock", idempotency_key="k-c1")
    state = site.order_state(order["id"])
    assert state["status"] == "cancelled" and site.stock_of(beanie) == 25
    reasons = [n for n in state["notes"] if "out of stock" in n["note"]]
    assert len(reasons) == 1 and reasons[0]["customer_note"] is False
    for _ in range(2):
        await site.client.note(str(order["id"]), "Refund 12.00 issued", idempotency_key="k-n1")
    await site.client.note(str(order["id"]), "Refund 12.00 issued", idempotency_key="k-n2")
    notes = site.order_state(order["id"])["notes"]
    assert sum("Refund 12.00 issued" in n["note"] for n in notes) == 2


async def test_orders_since_reads_every_page_oldest_first(site: Site) -> None:
    start = datetime.now(UTC)
    placed = [site.shop.place_order([{"sku": "MUG-12OZ"}]) for _ in range(105)]
    pulled = await site.client.orders_since(start)
    ids = [o.external_id for o in pulled]
    assert ids == [str(o["id"]) for o in placed]  # same second: core breaks ties by id
    later = datetime.fromisoformat(placed[-1]["date_modified_gmt"]).replace(tzinfo=UTC)
    assert await site.client.orders_since(later + timedelta(seconds=1)) == []


def documented(name: str) -> Any:
    return json.loads((PAYLOADS / "woocommerce" / name).read_text())


async def test_the_documented_responses_read_as_listings_and_subscriptions() -> None:
    """The docs' own `GET /products`, `GET /products/<id>/variations` and `GET /webhooks`."""
    seen: list[httpx.Request] = []
    products = documented("products_list.json")  # variable 799 (no variations listed), simple 794
    # The docs list variations 733 and 732 for product 22; here they answer for the docs'
    # variable product 799, which is the only variable product of the documented list.
    variations = documented("product_variations_list.json")

    def recorded(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path.removeprefix("/wp-json/wc/v3")
        if request.method == "POST" and path == "/webhooks":
            return httpx.Response(201, json=documented("webhook_create.json"))
        body = {
            "/products": products,
            "/products/799/variations": variations,
            "/webhooks": documented("webhooks_list.json"),
        }[path]
        return httpx.Response(200, json=body, headers={"X-WP-TotalPages": "1"})

    client = WooCommerceClient(
        "https://example.com",
        "ck",
        "cs",
        webhook_secret=SECRET,
        transport=httpx.MockTransport(recorded),
    )
    found = await client.listings()
    assert [(x.listing_id, x.sku, x.parent_id) for x in found] == [
        ("733", None, "799"),
        ("732", None, "799"),
        ("794", None, None),
    ]
    assert found[0].title == "Ship Your Idea - Green"  # the variation has no name of its own
    assert seen[0].url.params["per_page"] == "100" and seen[0].url.params["page"] == "1"
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"ck:cs").decode()

    seen.clear()
    await client.subscribe_webhooks("https://oms.example/v1/channels/woocommerce/webhooks")
    await client.aclose()
    posted = [json.loads(r.content) for r in seen if r.method == "POST"]
    # The documented `customer.created` webhook is someone else's: all three of ours are made.
    assert [p["topic"] for p in posted] == ["order.created", "order.updated", "order.deleted"]
    assert posted[0] == {
        "name": "OMS order.created",
        "topic": "order.created",
        "delivery_url": "https://oms.example/v1/channels/woocommerce/webhooks",
        "secret": SECRET,
        "status": "active",
    }
