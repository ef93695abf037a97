"""The sandbox Shopify shop served over real HTTP (uvicorn on a free port), and a receiver."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from integrations.channels.shopify_admin import ShopifyAdminClient
from sandbox.shopify_shop import Limits, ShopifyShop, create_app

TOKEN = "shpat_test_token"
APP_SECRET = "shpss_app_secret"
PRODUCTS = [
    {
        "sku": "TSHIRT-M",
        "title": "Organic tee",
        "price": "19.99",
        "barcode": "0001",
        "available": 5,
    },
    {"sku": "CAP-BLK", "title": "Cap", "price": "15.00", "available": 3},
    {"sku": None, "title": "Gift wrap", "price": "2.00"},
]


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free local port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Received:
    """Webhook deliveries a callback endpoint got: (headers, raw body)."""

    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_first: int = 0


def receiver(received: Received) -> Starlette:
    """A callback endpoint that records deliveries (failing the first `fail_first`)."""

    async def hook(request: Request) -> Response:
        received.calls.append((dict(request.headers), await request.body()))
        if len(received.calls) <= received.fail_first:
            return JSONResponse({"error": "down"}, status_code=503)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


@dataclass
class Sandbox:
    """A running sandbox shop, its limits and a client pointed at it."""

    shop: ShopifyShop
    limits: Limits
    url: str
    client: ShopifyAdminClient
    app: Any


@asynccontextmanager
async def shopify_sandbox(**client_options: Any) -> AsyncIterator[Sandbox]:
    """A seeded shop on a real port and a `ShopifyAdminClient` for it."""
    shop = ShopifyShop(webhook_secret=APP_SECRET, access_token=TOKEN).seed(products=PRODUCTS)
    limits = Limits()
    app = create_app(shop, limits=limits)
    async with served(app) as url:
        client = ShopifyAdminClient(url, TOKEN, webhook_secret=APP_SECRET, **client_options)
        try:
            yield Sandbox(shop, limits, url, client, app)
        finally:
            await client.aclose()
