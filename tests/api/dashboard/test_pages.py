"""Dashboard over plain HTTP (no JS): sign-in rules, forms, CSRF, and the KPI API."""

from __future__ import annotations

import re

import httpx

from tests.api.dashboard.conftest import Web
from tests.conftest import ADMIN_KEY, canonical_order


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def test_pages_send_strangers_to_sign_in(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        for path in ("/", "/inventory", "/kpis", "/exceptions", "/dashboard/counts"):
            response = await http.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login?next=")
        form = await http.get("/login")
        assert form.status_code == 200 and 'name="api_key"' in form.text


async def test_sign_in_refuses_bad_and_channel_keys(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        bad = await http.post("/login", data={"api_key": "oms_nope"})
        assert bad.status_code == 401 and "not valid" in bad.text
        channel = await http.post("/login", data={"api_key": web.channel_key})
        assert channel.status_code == 403 and "cannot use the dashboard" in channel.text
        assert (await http.get("/")).status_code == 303


async def test_sign_in_never_redirects_off_site(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        response = await http.post("/login?next=//evil.example/x", data={"api_key": ADMIN_KEY})
        assert response.status_code == 303 and response.headers["location"] == "/"


async def test_a_refusal_without_js_shows_the_reason(
    web: Web, signed_in: httpx.AsyncClient
) -> None:
    created = await web.stack.post("/v1/orders", canonical_order())
    order_id = created.json()["order_id"]
    await web.stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    page = await signed_in.get(f"/orders/{order_id}")
    assert page.status_code == 200
    token = csrf_of(page.text)

    forged = await signed_in.post(f"/orders/{order_id}/actions/release", data={"reason": "x"})
    assert forged.status_code == 403  # no CSRF token: not from our page

    response = await signed_in.post(
        f"/orders/{order_id}/actions/release", data={"csrf": token, "reason": "ok"}
    )
    assert response.status_code == 303
    shown = await signed_in.get(response.headers["location"])
    assert "Refused: order is in_fulfillment, not on hold" in shown.text

    held = await signed_in.post(
        f"/orders/{order_id}/actions/hold",
        data={"csrf": token, "reason": "check"},
        headers={"Accept": "application/json"},
    )
    assert held.status_code == 200 and held.json()["ok"] is True
    assert (await web.stack.order(order_id))["status"] == "on_hold"

    bad_address = await signed_in.post(
        f"/orders/{order_id}/actions/address",
        data={"csrf": token, "name": "A", "line1": "1 Main", "city": "X", "country": "USA"},
        headers={"Accept": "application/json"},
    )
    assert bad_address.status_code == 422 and "ship_to" in bad_address.json()["message"]


async def test_list_search_counts_and_assets(web: Web, signed_in: httpx.AsyncClient) -> None:
    body = canonical_order(external_id="SEARCH-ME-1")
    assert (await web.stack.post("/v1/orders", body)).status_code == 202
    listing = await signed_in.get("/", params={"q": "SEARCH-ME-1"})
    assert listing.status_code == 200 and "SEARCH-ME-1" in listing.text
    counts = await signed_in.get("/dashboard/counts")
    assert counts.status_code == 200 and counts.json()["total"] >= 1
    css = await signed_in.get("/static/dashboard/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert (await signed_in.get("/static/dashboard/..%2Fweb.py")).status_code == 404


async def test_kpis_api_uses_the_same_keys(web: Web, signed_in: httpx.AsyncClient) -> None:
    response = await web.stack.get("/v1/analytics/kpis?days=7")
    assert response.status_code == 200, response.text
    body = response.json()
    for field in (
        "cycle_time",
        "perfect_order_rate",
        "stockout_rate",
        "backorder_rate",
        "split_shipment_rate",
        "reroute_rate",
        "fulfilment_cost_per_order",
        "return_rate_by_reason",
        "orders_by_channel",
    ):
        assert field in body
    assert len(body["orders_by_channel"]) in (7, 8)
    assert (await web.stack.get("/v1/analytics/kpis", key=web.channel_key)).status_code == 403
    assert (await signed_in.get("/v1/analytics/kpis")).status_code == 200  # session cookie
    bad = await web.stack.get("/v1/analytics/kpis?since=2026-02-01T00:00:00&until=2026-01-01")
    assert bad.status_code == 422 and "until" in bad.json()["message"]


async def test_sign_out(web: Web, signed_in: httpx.AsyncClient) -> None:
    token = csrf_of((await signed_in.get("/kpis")).text)
    response = await signed_in.post("/logout", data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await signed_in.get("/")).status_code == 303
