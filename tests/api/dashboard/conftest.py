"""Dashboard fixtures: the real stack with sessions installed, served on a real port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

import api.app
from api import auth
from api.dashboard import install
from store.analytics_tables import Forecast
from tests.conftest import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class Web:
    """The stack plus the URL a browser reaches it at and a channel key."""

    stack: Stack
    base_url: str
    channel_key: str


async def create_forecasts_table(stack: Stack) -> None:
    """The forecasts table, until its migration lands (the lead adds it with this feature)."""
    async with stack.engine.begin() as conn:
        await conn.run_sync(
            lambda sync: Forecast.metadata.tables["forecasts"].create(sync, checkfirst=True)
        )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve an already started app with uvicorn on a free local port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
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


@asynccontextmanager
async def web_stack(client: Client, db_url: str, **options: Any) -> AsyncIterator[Web]:
    """`running_stack` with the dashboard's session middleware installed, on a real port."""
    apps: list[FastAPI] = []
    original = api.app.create_app

    def create_app(settings: Any, temporal_client: Client | None = None) -> FastAPI:
        app = original(settings, temporal_client)
        install(app, settings)
        apps.append(app)
        return app

    async with running_stack(client, db_url, app_factory=create_app, **options) as stack:
        await create_forecasts_table(stack)
        async with stack.sessions.begin() as session:
            _, channel_key = await auth.create(session, "channel", "shop")
        async with serving(apps[0]) as base_url:
            yield Web(stack, base_url, channel_key)


@pytest.fixture(scope="module")
async def web(
    temporal_client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Web]:
    """One served stack per module; the test drives the warehouse, so orders wait to ship."""
    db = tmp_path_factory.mktemp("web") / "oms.db"
    async with web_stack(temporal_client, f"sqlite+aiosqlite:///{db}", auto_warehouse=False) as w:
        yield w


@pytest.fixture
async def signed_in(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client (no browser) signed in to the dashboard with the admin key."""
    from tests.conftest import ADMIN_KEY

    async with httpx.AsyncClient(base_url=web.base_url) as http:
        response = await http.post("/login", data={"api_key": ADMIN_KEY})
        assert response.status_code == 303, response.text
        yield http


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium from the system package (no browser download)."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Any, web: Web) -> AsyncIterator[Any]:
    """A fresh browser page (own cookies) with a desktop viewport."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        await context.close()


def shot(name: str) -> str:
    """Where a screenshot goes (tests/artifacts is git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")
