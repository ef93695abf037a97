"""`GET /v1/orders` and the dashboard list: the same search, every filter applied in SQL."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from api.dashboard import order_pages
from tests.api.conftest import ReadApi
from tests.conftest import ADMIN_KEY
from tests.read_model import T0, shopify_order


async def listed(api: ReadApi, **params: Any) -> dict[str, Any]:
    """One page of `GET /v1/orders`."""
    response = await api.http.get("/v1/orders", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_location_filter_pages_are_full_with_a_cursor_until_the_last(
    read_api: ReadApi,
) -> None:
    east = []
    for n in range(20):
        # Every third order ships from WH-EAST; the rest from elsewhere or not routed yet.
        location = "WH-EAST" if n % 3 == 0 else ("WH-WEST" if n % 3 == 1 else None)
        order_id = await read_api.orders.order(n, location=location)
        if location == "WH-EAST":
            east.append(order_id)
    pages = [await listed(read_api, location="WH-EAST", limit=3)]
    while pages[-1]["next_cursor"]:
        cursor = pages[-1]["next_cursor"]
        pages.append(await listed(read_api, location="WH-EAST", limit=3, cursor=cursor))
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert [o["order_id"] for p in pages for o in p["items"]] == east[::-1]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ext-1", "ann"),  # external id, any case
        ("ann.lee@EXAMPLE.com", "ann"),  # customer email, any case
        ("lee", "ann"),  # part of the customer's name
        ("#9999", "shopify"),  # Shopify's order number (its `name`)
        ("9999", "shopify"),
    ],
)
async def test_q_matches_ids_numbers_emails_and_names(
    read_api: ReadApi, q: str, expected: str
) -> None:
    orders = {
        "ann": await read_api.orders.order(
            1, customer={"email": "Ann.Lee@example.com", "name": "Ann Lee"}
        ),
        "bob": await read_api.orders.order(2, customer={"email": "bob@example.com", "name": "Bob"}),
        "shopify": await read_api.orders.submit(shopify_order(), 3),
    }
    found = (await listed(read_api, q=q))["items"]
    assert [o["order_id"] for o in found] == [orders[expected]]


async def test_q_matches_an_order_id_prefix(read_api: ReadApi) -> None:
    order_id = await read_api.orders.order(1)
    await read_api.orders.order(2)
    found = (await listed(read_api, q=order_id[:9]))["items"]
    assert [o["order_id"] for o in found] == [order_id]
    shopify = await read_api.orders.submit(shopify_order(), 3)
    [item] = (await listed(read_api, q=shopify[:12].upper()))["items"]
    assert item["order_number"] == "#9999"


async def test_a_cursor_we_never_issued_is_400_naming_the_cursor(read_api: ReadApi) -> None:
    # Decodes, but its timestamp has no zone: not one of ours, and no server error either.
    raw = json.dumps([T0.replace(tzinfo=None).isoformat(), "ord_1"]).encode()
    naive = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = await read_api.http.get("/v1/orders", params={"cursor": naive})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_cursor" and body["detail"][0]["field"] == "cursor"
    assert body["message"].startswith("cursor: ")


async def test_the_dashboard_list_uses_the_same_search(
    read_api: ReadApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_pages, "PAGE_SIZE", 2)
    east = []
    for n in range(8):
        location = "WH-EAST" if n % 2 else "WH-WEST"
        order_id = await read_api.orders.order(
            n,
            location=location,
            external_id=f"DASH-{n}",
            customer={"email": f"buyer{n}@example.com", "name": f"Buyer {n}"},
        )
        if location == "WH-EAST":
            east.append(order_id)
    http = read_api.http
    signed_in = await http.post(
        "/login", data={"api_key": ADMIN_KEY}, headers={"Authorization": ""}
    )
    assert signed_in.status_code == 303
    seen: list[str] = []
    params: dict[str, str] = {"location": "WH-EAST"}
    while True:
        page = await http.get("/", params=params)
        assert page.status_code == 200
        rows = [o for o in east if f"/orders/{o}" in page.text]
        assert len(rows) == 2  # every page full
        seen += rows
        if "cursor=" not in page.text:
            break
        params["cursor"] = page.text.split("cursor=", 1)[1].split('"', 1)[0]
    assert sorted(seen) == sorted(east)
    by_email = await http.get("/", params={"q": "BUYER5@example.com"})
    assert "DASH-5" in by_email.text and "DASH-4" not in by_email.text
    by_name = await http.get("/", params={"q": "buyer 6"})
    assert "DASH-6" in by_name.text and "DASH-5" not in by_name.text
    bad = await http.get("/", params={"cursor": "garbage"})
    assert bad.status_code == 400 and "cursor" in bad.text
