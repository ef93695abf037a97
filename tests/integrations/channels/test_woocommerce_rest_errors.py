"""The WooCommerce client's failures: throttling, authentication, WooCommerce errors, outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from integrations.channels.shop import (
    ShopFulfilment,
    ShopRequestError,
    ShopUnavailable,
)
from integrations.channels.woocommerce_rest import WooCommerceClient
from tests.integrations.channels.woo_sandbox import (
    Site,
    bound_socket,
    site,
    site_auth,
    url_of,
)

__all__ = ["site"]  # the fixture, shared from woo_sandbox


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


async def test_a_passing_outage_is_ridden_out_and_retry_after_may_be_a_date() -> None:
    answers = [
        httpx.Response(502),
        httpx.Response(
            429,
            headers={"Retry-After": format_datetime(datetime.now(UTC) - timedelta(seconds=5))},
            json={"code": "rate_limit_exceeded", "message": "slow down", "data": {"status": 429}},
        ),
        httpx.Response(200, json=[], headers={"X-WP-TotalPages": "0"}),
    ]
    seen: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    client = WooCommerceClient(
        "https://shop.example", "ck", "cs", transport=httpx.MockTransport(flaky)
    )
    assert await client.listings() == []
    await client.aclose()
    assert len(seen) == 3  # a 502, a 429 whose Retry-After date has passed, then the answer
