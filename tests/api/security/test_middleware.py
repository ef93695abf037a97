"""The HTTP edge: rate limits (429), body limit (413), security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from api import errors, middleware
from api.app import create_app
from api.middleware import TokenBuckets
from config.settings import Settings
from tests.conftest import ADMIN_KEY, Stack, canonical_order


def edge_app(**limits: object) -> FastAPI:
    """A tiny app with the OMS middleware stack and error handlers."""
    app = FastAPI()
    errors.install(app)

    @app.post("/v1/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/v1/channels/shop/webhooks")
    async def webhook() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return "<html><body>hi</body></html>"

    middleware.install(app, Settings(**limits))  # type: ignore[arg-type]
    return app


def client_of(app: FastAPI, ip: str = "10.0.0.1") -> httpx.AsyncClient:
    """An in-process client with a fixed client address."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://oms.test")


@pytest.fixture
async def tight() -> AsyncIterator[FastAPI]:
    """Limits small enough to hit in a test."""
    yield edge_app(
        rate_limit_rps=0.5, rate_limit_burst=3, webhook_rate_limit_rps=0.5,
        webhook_rate_limit_burst=2, max_body_bytes=1024,
    )  # fmt: skip


def test_token_bucket_refills_at_its_rate() -> None:
    buckets = TokenBuckets(rate=2.0, burst=2)
    assert buckets.take("a", 0.0) == 0.0
    assert buckets.take("a", 0.0) == 0.0
    assert buckets.take("a", 0.0) == pytest.approx(0.5)
    assert buckets.take("b", 0.0) == 0.0  # callers do not share a bucket
    assert buckets.take("a", 0.5) == 0.0


def test_token_buckets_are_bounded() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=10)
    for i in range(100):
        buckets.take(f"caller-{i}", 0.0)
    assert len(buckets._buckets) == 10


async def test_rate_limit_per_key_answers_429_with_retry_after(tight: FastAPI) -> None:
    async with client_of(tight) as http:
        key_a = {"Authorization": "Bearer key-a"}
        statuses = [(await http.post("/v1/echo", headers=key_a)).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = await http.post("/v1/echo", headers=key_a)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"] == "rate_limited"
        # Another key, and callers without a key (by IP), have buckets of their own.
        other = await http.post("/v1/echo", headers={"Authorization": "Bearer key-b"})
        assert other.status_code == 200
        assert (await http.post("/v1/echo")).status_code == 200
        # Probes are never throttled.
        assert all([(await http.get("/healthz")).status_code == 200 for _ in range(10)])


async def test_webhooks_are_limited_per_ip(tight: FastAPI) -> None:
    async with client_of(tight, "10.0.0.7") as http, client_of(tight, "10.0.0.8") as other:
        hook = "/v1/channels/shop/webhooks"
        assert [(await http.post(hook)).status_code for _ in range(3)] == [200, 200, 429]
        assert (await other.post(hook)).status_code == 200


async def test_defaults_do_not_throttle_a_busy_client(api_stack: Stack) -> None:
    limits = Settings()
    assert limits.rate_limit_rps >= 50 and limits.rate_limit_burst >= 200
    for _ in range(100):
        assert (await api_stack.get("/v1/orders?limit=1")).status_code == 200


async def test_rate_limit_from_the_environment_reaches_the_app_middleware(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OMS_RATE_LIMIT_RPS", "0.01")
    monkeypatch.setenv("OMS_RATE_LIMIT_BURST", "2")
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}")
    assert settings.rate_limit_rps == 0.01
    # Read once, into Settings: the app must take it from there, not read the environment.
    monkeypatch.delenv("OMS_RATE_LIMIT_RPS")
    monkeypatch.delenv("OMS_RATE_LIMIT_BURST")
    app = create_app(settings)
    async with client_of(app) as http:
        # The third call within the bucket's refill time is refused before any route runs.
        assert [(await http.get("/v1/orders")).status_code for _ in range(3)] == [401, 401, 429]


async def test_body_over_the_limit_by_content_length_is_413(tight: FastAPI) -> None:
    async with client_of(tight) as http:
        ok = await http.post("/v1/echo", content=b"x" * 1024)
        assert ok.status_code == 200 and ok.json() == {"received": 1024}
        big = await http.post("/v1/echo", content=b"x" * 1025)
        assert big.status_code == 413
        assert big.json()["detail"][0]["field"] == "body"
        assert "1024 bytes" in big.json()["message"]


async def test_streamed_body_over_the_limit_is_413(tight: FastAPI) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 300

    async with client_of(tight) as http:
        # No Content-Length: the limit is enforced while the body streams in.
        response = await http.post("/v1/echo", content=chunks())
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"


async def test_real_app_refuses_a_huge_order_with_413(api_stack: Stack) -> None:
    body = canonical_order()
    body["customer"]["name"] = "x" * (2 * 1024 * 1024)
    response = await api_stack.post("/v1/orders", body)
    assert response.status_code == 413
    assert "body" in response.json()["message"]


async def test_security_headers(tight: FastAPI, api_stack: Stack) -> None:
    async with client_of(tight) as http:
        page = await http.get("/page")
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"]
        api = await http.get("/healthz")
        assert api.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in api.headers
    docs = await api_stack.http.get("/docs")
    assert docs.status_code == 200 and docs.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in docs.headers["content-security-policy"]
    refused = await api_stack.http.get("/v1/orders")
    assert refused.status_code == 401 and refused.headers["x-content-type-options"] == "nosniff"
    ok = await api_stack.http.get("/v1/orders", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert ok.headers["x-content-type-options"] == "nosniff"


async def test_every_response_carries_a_request_id(api_stack: Stack) -> None:
    given = await api_stack.http.get("/healthz", headers={"x-request-id": "req-42"})
    assert given.headers["x-request-id"] == "req-42"
    refused = await api_stack.http.get("/v1/orders")  # no key: refused before any route
    assert refused.status_code == 401 and len(refused.headers["x-request-id"]) == 16
