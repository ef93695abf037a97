"""Serving ASGI apps over real HTTP in a test: the sandbox WooCommerce site and a webhook sink."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.helpers import eventually


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
