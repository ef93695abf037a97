"""The HTTP contract: auth, validation that names the field, health, lists and pagination."""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.client import Client

from api.app import create_app
from config.settings import Settings
from store import migrate
from store.db import create_engine
from tests.conftest import Stack, canonical_order


async def test_requests_without_a_valid_key_are_401(stack: Stack) -> None:
    assert (await stack.http.get("/v1/orders")).status_code == 401
    bad = await stack.http.get("/v1/orders", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "invalid" in bad.json()["message"]


async def test_channel_key_may_create_but_not_read(stack: Stack) -> None:
    from api import auth

    async with stack.sessions.begin() as session:
        _, key = await auth.create(session, "channel", "shop")
    created = await stack.post("/v1/orders", canonical_order(), key=key)
    assert created.status_code == 202
    forbidden = await stack.get(f"/v1/orders/{created.json()['order_id']}", key=key)
    assert forbidden.status_code == 403 and "orders:read" in forbidden.json()["message"]


async def test_bad_input_is_422_naming_the_field(stack: Stack) -> None:
    body = canonical_order()
    body["lines"][0]["quantity"] = 0
    response = await stack.post("/v1/orders", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "lines[0].quantity"
    assert "lines[0].quantity" in response.json()["message"]

    unknown = await stack.post(
        "/v1/orders",
        canonical_order(
            lines=[{"line_id": "1", "sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]
        ),
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "lines[0].sku"

    address = canonical_order()
    address["ship_to"]["postal_code"] = "ABCDE"
    bad_zip = await stack.post("/v1/orders", address)
    assert bad_zip.status_code == 422
    assert bad_zip.json()["detail"][0]["field"] == "ship_to.postal_code"

    missing = canonical_order()
    del missing["customer"]
    assert (await stack.post("/v1/orders", missing)).json()["detail"][0]["field"] == "customer"

    duplicate_lines = canonical_order(
        lines=[
            {"line_id": "1", "sku": "TSHIRT-M", "quantity": 1, "unit_price": "1.00"},
            {"line_id": "1", "sku": "TSHIRT-L", "quantity": 1, "unit_price": "1.00"},
        ]
    )
    dup = await stack.post("/v1/orders", duplicate_lines)
    assert dup.status_code == 422 and "line_id" in dup.json()["message"]

    not_json = await stack.http.post(
        "/v1/orders", content=b"{", headers={**stack.headers(), "content-type": "application/json"}
    )
    assert not_json.status_code == 422


async def test_list_filters_and_paginates(stack: Stack) -> None:
    ids = []
    for _ in range(3):
        response = await stack.post("/v1/orders", canonical_order(channel="pos"))
        ids.append(response.json()["order_id"])
    page1 = (await stack.get("/v1/orders?channel=pos&limit=2")).json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = (
        await stack.get(f"/v1/orders?channel=pos&limit=2&cursor={page1['next_cursor']}")
    ).json()
    seen = [o["order_id"] for o in page1["items"] + page2["items"]]
    assert sorted(seen) == sorted(ids) and page2["next_cursor"] is None
    by_sku = (await stack.get("/v1/orders?sku=TSHIRT-M&channel=pos")).json()
    assert len(by_sku["items"]) == 3
    assert (await stack.get("/v1/orders?sku=CAP-BLK&channel=pos")).json()["items"] == []
    assert (await stack.get("/v1/orders?cursor=garbage")).status_code == 400
    assert (await stack.get("/v1/orders/ord_missing")).status_code == 404


async def test_inventory_and_locations(stack: Stack) -> None:
    inv = (await stack.get("/v1/inventory/TSHIRT-M")).json()
    assert inv["available"] == sum(x["available"] for x in inv["locations"])
    east = next(x for x in inv["locations"] if x["location_id"] == "WH-EAST")
    adjusted = await stack.post(
        "/v1/inventory/adjustments",
        {"sku": "TSHIRT-M", "location_id": "WH-EAST", "delta": 5, "reason": "cycle count"},
    )
    assert adjusted.status_code == 200
    after = next(x for x in adjusted.json()["locations"] if x["location_id"] == "WH-EAST")
    assert after["on_hand"] == east["on_hand"] + 5
    too_much = await stack.post(
        "/v1/inventory/adjustments",
        {"sku": "TSHIRT-M", "location_id": "WH-EAST", "delta": -2_000_000, "reason": "x"},
    )
    assert too_much.status_code == 422 and too_much.json()["detail"][0]["field"] == "delta"
    below = await stack.post(
        "/v1/inventory/adjustments",
        {
            "sku": "TSHIRT-M",
            "location_id": "WH-EAST",
            "delta": -(after["on_hand"] + 1),
            "reason": "x",
        },
    )
    assert below.status_code == 409
    created = await stack.post(
        "/v1/locations",
        {
            "location_id": "WH-NEW",
            "name": "New DC",
            "kind": "3pl",
            "lat": 33.7,
            "lon": -84.4,
            "daily_capacity": 100,
        },
    )
    assert created.status_code == 201
    again = await stack.post(
        "/v1/locations", {"location_id": "WH-NEW", "name": "New DC", "lat": 33.7, "lon": -84.4}
    )
    assert again.status_code == 409
    assert "WH-NEW" in [x["location_id"] for x in (await stack.get("/v1/locations")).json()]


async def test_healthz_names_what_is_down(tmp_path: Path, temporal_client: Client) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    ok_app = create_app(Settings(database_url=url), temporal_client=temporal_client)
    async with ok_app.router.lifespan_context(ok_app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ok_app), base_url="http://t"
        ) as http:
            response = await http.get("/healthz")
            assert response.status_code == 200, response.text
    down = Settings(database_url=url, temporal_address="127.0.0.1:1")
    app = create_app(down)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] and not body["checks"]["temporal"]["ok"]


async def test_channel_view_holds_back_the_buffer(stack: Stack) -> None:
    from store.channel_tables import ChannelBuffer

    async with stack.sessions.begin() as session:
        session.add(ChannelBuffer(channel="shopify", sku="*", buffer_units=7))
    plain = (await stack.get("/v1/inventory/TSHIRT-M")).json()
    view = (await stack.get("/v1/inventory/TSHIRT-M?channel=shopify")).json()
    assert view["channel_available"] == plain["available"] - 7
    other = (await stack.get("/v1/inventory/TSHIRT-M?channel=pos")).json()
    assert other["channel_available"] == plain["available"]
