"""The real WooCommerce REST v3 client against the sandbox site, served over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.errors import Unauthenticated
from integrations.channels import woocommerce
from integrations.channels.base import UNMAPPED_SKU, CancelOrder, CreateOrder
from integrations.channels.shop import (
    ShopFulfilment,
    ShopLocation,
    ShopRequestError,
    ShopStock,
    ShopUnavailable,
)
from integrations.channels.woocommerce_rest import WooCommerceClient
from sandbox.woocommerce_shop import WooShop, create_app, serve
from services.webhooks import woocommerce_delivery
from tests.helpers import eventually
from tests.integrations.channels.conftest import PAYLOADS
from tests.integrations.channels.woo_sandbox import Sink, bound_socket, serving, url_of

SECRET = "wh_secret_for_tests"
OUR_SKUS = ["TSHIRT-S", "TSHIRT-M", "TSHIRT-L", "MUG-12OZ", "BEANIE"]


@dataclass
class Site:
    shop: WooShop
    url: str
    client: WooCommerceClient
    listings: list[dict[str, Any]]

    def connect(self, **options: Any) -> WooCommerceClient:
        options.setdefault("webhook_secret", SECRET)
        key = options.pop("consumer_key", self.shop.consumer_key)
        secret = options.pop("consumer_secret", self.shop.consumer_secret)
        return WooCommerceClient(self.url, key, secret, **options)

    def listing(self, sku: str) -> dict[str, Any]:
        return next(x for x in self.listings if x["sku"] == sku)

    def stock_of(self, listing_id: int) -> int | None:
        return next(
            p["stock_quantity"] for p in self.shop.snapshot()["products"] if p["id"] == listing_id
        )

    def order_state(self, order_id: int) -> dict[str, Any]:
        return next(o for o in self.shop.snapshot()["orders"] if o["id"] == order_id)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    sock = bound_socket()
    shop = WooShop(site_url=url_of(sock), requests_per_second=None)
    listings = shop.seed(WooShop.demo_products(OUR_SKUS, stock=25))
    async with serving(create_app(shop), sock):
        client = WooCommerceClient(
            url_of(sock), shop.consumer_key, shop.consumer_secret, webhook_secret=SECRET
        )
        yield Site(shop, url_of(sock), client, listings)
        await client.aclose()
        await shop.drain()


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Sink, str]]:
    sock = bound_socket()
    receiver = Sink()
    async with serving(receiver.app(), sock):
        yield receiver, f"{url_of(sock)}/hooks/woocommerce"


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


async def test_webhooks_subscribe_once_and_deliveries_pass_our_signature_check(
    site: Site, sink: tuple[Sink, str]
) -> None:
    receiver, callback = sink
    assert await site.client.subscribe_webhooks(callback) == [
        "order.created",
        "order.updated",
        "order.deleted",
    ]
    await site.client.subscribe_webhooks(callback)
    hooks = site.shop.snapshot()["webhooks"]
    assert sorted(h["topic"] for h in hooks) == ["order.created", "order.deleted", "order.updated"]

    skuless = next(x for x in site.listings if not x["sku"])
    order = site.shop.place_order(
        [{"variation_id": skuless["listing_id"], "quantity": 1}, {"sku": "MUG-12OZ"}],
        status="pending",
    )
    await eventually(lambda: len(receiver.received) >= 1, timeout=10)
    created = receiver.received[0]
    assert created.headers["x-wc-webhook-topic"] == "order.created"
    assert created.headers["x-wc-webhook-source"] == site.url + "/"
    assert created.headers["x-wc-webhook-resource"] == "order"
    assert created.headers["x-wc-webhook-event"] == "created"
    delivery = woocommerce_delivery(created.headers, created.body, [SECRET])
    assert delivery is not None and delivery.topic == "order.created"
    assert delivery.delivery_id == created.headers["x-wc-webhook-delivery-id"]
    assert delivery.headers[woocommerce.SOURCE_HEADER] == site.url + "/"
    with pytest.raises(Unauthenticated):
        woocommerce_delivery(created.headers, created.body, ["another secret"])
    with pytest.raises(Unauthenticated):
        woocommerce_delivery(created.headers, created.body + b" ", [SECRET])

    action = woocommerce.interpret(delivery.topic, delivery.body)
    assert isinstance(action, CreateOrder) and action.awaiting_payment
    assert [x.sku for x in action.order.lines] == [UNMAPPED_SKU, "MUG-12OZ"]
    assert action.listings[str(order["line_items"][0]["id"])] == str(skuless["listing_id"])

    # The reconciliation pull reads the same order exactly as the webhook delivered it.
    pulled = await site.client.orders_since(datetime.now(UTC) - timedelta(minutes=5))
    (mine,) = [o for o in pulled if o.external_id == str(order["id"])]
    assert mine.topic == "order.updated" and mine.version == order["date_modified_gmt"]
    assert woocommerce.interpret(mine.topic, json.dumps(mine.doc).encode()) == action

    site.shop.change_status(order["id"], "processing")  # the customer paid
    await eventually(lambda: len(receiver.received) >= 2, timeout=10)
    updated = receiver.received[1]
    paid = woocommerce_delivery(updated.headers, updated.body, [SECRET])
    assert paid is not None and paid.topic == "order.updated"
    paid_action = woocommerce.interpret(paid.topic, paid.body)
    assert isinstance(paid_action, CreateOrder) and not paid_action.awaiting_payment


async def test_orders_since_reads_every_page_oldest_first(site: Site) -> None:
    start = datetime.now(UTC)
    placed = [site.shop.place_order([{"sku": "MUG-12OZ"}]) for _ in range(105)]
    pulled = await site.client.orders_since(start)
    ids = [o.external_id for o in pulled]
    assert ids == [str(o["id"]) for o in placed]  # same second: core breaks ties by id
    later = datetime.fromisoformat(placed[-1]["date_modified_gmt"]).replace(tzinfo=UTC)
    assert await site.client.orders_since(later + timedelta(seconds=1)) == []


async def test_throttled_requests_are_retried_then_reported_with_retry_after(site: Site) -> None:
    site.shop.throttle(1, retry_after_s=1)
    assert len(await site.client.listings()) == len(site.listings)  # one 429, then served

    patient = site.connect(retry_budget_s=1.5)
    site.shop.throttle(50, retry_after_s=1)
    with pytest.raises(ShopUnavailable) as err:
        await patient.listings()
    await patient.aclose()
    assert err.value.code == "rate_limit_exceeded" and err.value.retry_after_s == 1.0
    assert site.shop.throttle_left == 48  # two tries, then it gave up


async def test_request_rate_limit_answers_429_with_retry_after(site: Site) -> None:
    site.shop.requests_per_second = 2
    async with httpx.AsyncClient(base_url=site.url, auth=site_auth(site)) as http:
        answers = [await http.get("/wp-json/wc/v3/products") for _ in range(5)]
    codes = [a.status_code for a in answers]
    assert 429 in codes and codes[:2] == [200, 200]
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["data"] == {"status": 429}


def site_auth(site: Site) -> httpx.BasicAuth:
    return httpx.BasicAuth(site.shop.consumer_key, site.shop.consumer_secret)


async def test_authentication_and_woocommerce_errors(site: Site) -> None:
    wrong = site.connect(consumer_secret="cs_wrong")
    with pytest.raises(ShopRequestError) as err:
        await wrong.listings()
    await wrong.aclose()
    assert err.value.code == "woocommerce_rest_authentication_error"
    with pytest.raises(ShopRequestError) as missing:
        await site.client.fulfil(
            ShopFulfilment("999999", "UPS", "1Z1", ""), idempotency_key="k-missing"
        )
    assert missing.value.code == "woocommerce_rest_shop_order_invalid_id"

    async with httpx.AsyncClient(base_url=site.url) as http:
        anonymous = await http.get("/wp-json/wc/v3/orders")
        assert anonymous.status_code == 401
        assert anonymous.json()["code"] == "woocommerce_rest_cannot_view"
        keys = {
            "consumer_key": site.shop.consumer_key,
            "consumer_secret": site.shop.consumer_secret,
        }
        by_query = await http.get("/wp-json/wc/v3/products", params={**keys, "per_page": 2})
        assert by_query.status_code == 200 and len(by_query.json()) == 2
        assert by_query.headers["X-WP-Total"] == str(len(site.shop.store.state.products))
        assert 'rel="next"' in by_query.headers["Link"]
        assert "consumer_secret" not in by_query.headers["Link"]
        too_many = await http.get("/wp-json/wc/v3/products", params={**keys, "per_page": 101})
        assert too_many.status_code == 400 and too_many.json()["code"] == "rest_invalid_param"
        nowhere = await http.get("/wp-json/wc/v3/nothing", params=keys)
        assert nowhere.status_code == 404 and nowhere.json()["code"] == "rest_no_route"


async def test_server_errors_and_an_unreachable_shop_are_unavailable() -> None:
    calls: list[httpx.Request] = []

    def broken(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"code": "http_503", "message": "down", "data": {}})

    client = WooCommerceClient(
        "https://shop.example",
        "ck",
        "cs",
        transport=httpx.MockTransport(broken),
        retry_budget_s=0.5,
    )
    with pytest.raises(ShopUnavailable) as err:
        await client.locations()
    await client.aclose()
    assert len(calls) >= 2  # retried before giving up
    assert err.value.retry_after_s is None and "503" in err.value.message

    sock = bound_socket()
    closed = url_of(sock)
    sock.close()  # nothing listens there
    offline = WooCommerceClient(closed, "ck", "cs", retry_budget_s=0.3)
    with pytest.raises(ShopUnavailable) as down:
        await offline.listings()
    await offline.aclose()
    assert down.value.code == "network_error"


async def test_state_persists_to_a_json_file(tmp_path: Any) -> None:
    path = tmp_path / "woo.json"
    shop = WooShop(state_path=path)
    listings = shop.seed(WooShop.demo_products(OUR_SKUS))
    order = shop.place_order([{"sku": "TSHIRT-M"}], status="on-hold")
    again = WooShop(state_path=path)
    assert again.orders.order(order["id"])["status"] == "on-hold"
    assert again.snapshot()["products"] == shop.snapshot()["products"]
    # A restarted demo seeds again: the same items come back, nothing is doubled.
    assert again.seed(WooShop.demo_products(OUR_SKUS)) == listings
    assert len(again.snapshot()["products"]) == len(shop.snapshot()["products"])


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


async def test_a_webhook_disabled_by_failed_deliveries_is_reactivated(
    site: Site, sink: tuple[Sink, str]
) -> None:
    receiver, callback = sink
    receiver.status = 500
    await site.client.subscribe_webhooks(callback)
    for _ in range(7):
        site.shop.place_order([{"sku": "MUG-12OZ"}])
    await site.shop.drain()
    created = next(h for h in site.shop.snapshot()["webhooks"] if h["topic"] == "order.created")
    assert created["status"] == "disabled"  # more than five failures, as WooCommerce does
    await site.client.subscribe_webhooks(callback)
    hooks = site.shop.snapshot()["webhooks"]
    assert len(hooks) == 3 and {h["status"] for h in hooks} == {"active"}

    without = site.connect(webhook_secret="")
    with pytest.raises(ShopRequestError) as err:
        await without.subscribe_webhooks(callback)
    await without.aclose()
    assert err.value.code == "oms_webhook_secret_missing"


async def test_a_trashed_order_is_delivered_as_deleted_and_cancels(
    site: Site, sink: tuple[Sink, str]
) -> None:
    receiver, callback = sink
    await site.client.subscribe_webhooks(callback)
    order = site.shop.place_order([{"sku": "TSHIRT-M"}])
    async with httpx.AsyncClient(base_url=site.url, auth=site_auth(site)) as http:
        trashed = await http.delete(f"/wp-json/wc/v3/orders/{order['id']}")
        assert trashed.status_code == 200
        again = await http.delete(f"/wp-json/wc/v3/orders/{order['id']}")
        assert (
            again.status_code == 410 and again.json()["code"] == "woocommerce_rest_already_trashed"
        )
    await eventually(lambda: len(receiver.received) >= 2, timeout=10)
    deleted = next(
        r for r in receiver.received if r.headers["x-wc-webhook-topic"] == "order.deleted"
    )
    delivery = woocommerce_delivery(deleted.headers, deleted.body, [SECRET])
    assert delivery is not None and json.loads(delivery.body) == {"id": order["id"]}
    assert woocommerce.interpret(delivery.topic, delivery.body) == CancelOrder(
        str(order["id"]), "deleted on WooCommerce"
    )


async def test_serve_runs_the_site_with_uvicorn() -> None:
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()
    shop = WooShop(site_url=f"http://127.0.0.1:{port}", site_name="Served")
    task = asyncio.create_task(serve(shop, "127.0.0.1", port))
    client = WooCommerceClient(shop.site_url, shop.consumer_key, shop.consumer_secret)

    async def name() -> str | None:
        try:
            return (await client.locations())[0].name
        except ShopUnavailable:
            return None

    try:
        assert await eventually(name, until=lambda n: n == "Served", timeout=10) == "Served"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
