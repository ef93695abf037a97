"""Acceptance in a real headless Chromium: sign in, list, detail, act, and see refusals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.forecasting import ForecastingActivities
from activities.io import ComputeForecastsInput
from domain.forecast import ForecastParams
from tests.api.dashboard.conftest import Web, shot
from tests.conftest import ADMIN_KEY, canonical_order


async def sign_in(page: Any, web: Web, key: str = ADMIN_KEY) -> None:
    """Sign in through the form, the way a person does."""
    await page.goto(f"{web.base_url}/")
    assert "/login" in page.url  # pages send strangers to sign in
    await page.fill("input[name=api_key]", key)
    await page.click("button[type=submit]")


async def new_order(web: Web, **overrides: Any) -> dict[str, Any]:
    """Submit an order and wait until its parcel is with the (manual) warehouse."""
    body = canonical_order(**overrides)
    created = await web.stack.post("/v1/orders", body)
    assert created.status_code == 202, created.text
    order_id = created.json()["order_id"]
    await web.stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    return {"order_id": order_id, "external_id": body["external_id"]}


async def test_the_list_shows_a_new_order_by_external_id(page: Any, web: Web) -> None:
    order = await new_order(web, external_id=f"WEB-{id(page) % 100000}")
    await sign_in(page, web)
    await page.wait_for_url(f"{web.base_url}/")
    row = page.locator("table.data tbody tr", has_text=order["external_id"])
    await row.wait_for()
    assert await row.locator(".badge").first.text_content() == "in fulfillment"
    await page.screenshot(path=shot("orders"), full_page=True)

    await page.fill("input[name=q]", order["external_id"])
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url(re.compile(r"q="))
    assert await page.locator("table.data tbody tr").count() == 1


async def test_detail_shows_timeline_routing_and_shipments(page: Any, web: Web) -> None:
    order = await new_order(web)
    await sign_in(page, web)
    await page.goto(f"{web.base_url}/orders/{order['order_id']}")
    timeline = page.locator("ol.timeline")
    for step in ("received", "payment authorized", "routed", "label purchased"):
        await timeline.get_by_text(step, exact=True).first.wait_for()
    assert await page.locator(".explanation").inner_text()
    assert await page.locator("a", has_text="Open run in Temporal UI").get_attribute("href")
    assert await page.locator("a", has_text="PDF").count() >= 1
    await page.screenshot(path=shot("order_detail"), full_page=True)


async def test_cancelling_from_the_page_cancels_the_order(page: Any, web: Web) -> None:
    order = await new_order(web)
    await sign_in(page, web)
    await page.goto(f"{web.base_url}/orders/{order['order_id']}")
    page.on("dialog", lambda dialog: dialog.accept())
    cancel = page.locator("form[action$='/actions/cancel']")
    await cancel.locator("input[name=reason]").fill("customer asked")
    await cancel.locator("button").click()
    await page.locator("h1 .badge", has_text="cancelled").wait_for()
    assert (await web.stack.order(order["order_id"]))["status"] == "cancelled"
    await page.screenshot(path=shot("order_cancelled"), full_page=True)


async def test_a_refused_action_shows_the_reason(page: Any, web: Web) -> None:
    order = await new_order(web)
    await sign_in(page, web)
    await page.goto(f"{web.base_url}/orders/{order['order_id']}")
    release = page.locator("form[action$='/actions/release']")
    await release.locator("button").click()
    alert = page.locator(".action-result[role=alert]")
    await alert.wait_for()
    assert "order is in_fulfillment, not on hold" in await alert.inner_text()
    await page.screenshot(path=shot("order_refused"), full_page=True)


async def test_ops_pages_render(page: Any, web: Web) -> None:
    params = ForecastParams(history_days=30)
    tomorrow = datetime.now(UTC) + timedelta(days=1)  # today's orders count as history
    await ForecastingActivities(web.stack.sessions).compute_forecasts(
        ComputeForecastsInput(params=params, as_of=tomorrow)
    )
    await sign_in(page, web)
    await page.wait_for_url(f"{web.base_url}/")
    for path, heading in (
        ("/exceptions", "Exceptions queue"),
        ("/inventory", "Inventory"),
        ("/kpis", "Fulfilment KPIs"),
    ):
        await page.goto(f"{web.base_url}{path}")
        await page.locator("h1", has_text=heading).wait_for()
        if path == "/inventory":  # the forecast computed above is on the page
            await page.get_by_text("Demand forecast and replenishment").wait_for()
            await page.get_by_text(re.compile(r"Computed .* from 30 days")).wait_for()
        await page.screenshot(path=shot(path.strip("/")), full_page=True)


async def test_a_channel_key_cannot_sign_in(page: Any, web: Web) -> None:
    await sign_in(page, web, web.channel_key)
    await page.locator(".flash-error", has_text="cannot use the dashboard").wait_for()
    await page.goto(f"{web.base_url}/inventory")
    assert "/login" in page.url
    await page.screenshot(path=shot("login_refused"))
