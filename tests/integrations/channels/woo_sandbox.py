"""Serving ASGI apps over real HTTP in a test: the sandbox WooCommerce site and a webhook sink."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from integrations.channels.woocommerce_rest import WooCommerceClient
from sandbox.woocommerce_shop import WooShop, create_app
from tests.helpers import eventually

SECRET = "wh_secret_for_tests"
OUR_SKUS = ["TSHIRT-S", "TSHIRT-M", "TSHIRT-L", "MUG-12OZ", "BEANIE"]


def bound_socket() -> socket.socket:
    """A listening-ready socket on a free local port (so the URL is known before serving)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@asynccontextmanager
async def serving(app: ASGIApp, sock: socket.socket) -> AsyncIterator[None]:
    """Run `app` with uvicorn on `sock` for the duration of the block."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started or task.done(), timeout=10, interval=0.02)
    if task.done():
        task.result()  # surface why it did not start
    try:
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Received:
    """One request the sink got."""

    headers: dict[str, str]
    body: bytes


@dataclass
class Sink:
    """A webhook receiver that records every delivery and answers `status`."""

    status: int = 200
    received: list[Received] = field(default_factory=list)

    def app(self) -> ASGIApp:
        """The ASGI app recording deliveries."""

        async def hook(request: Request) -> JSONResponse:
            self.received.append(Received(dict(request.headers), await request.body()))
            return JSONResponse({"ok": True}, status_code=self.status)

        return Starlette(routes=[Route("/hooks/woocommerce", hook, methods=["POST"])])


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


def site_auth(site: Site) -> httpx.BasicAuth:
    return httpx.BasicAuth(site.shop.consumer_key, site.shop.consumer_secret)
