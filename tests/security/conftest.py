"""Fixtures of the security and reliability tests: a stack with its own settings, role keys."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api import auth
from config.temporal import data_converter
from store import migrate
from store.db import Database
from tests.conftest import ADMIN_KEY, TEST_TIME_SCALE, Stack


def new_payload_key() -> str:
    """A fresh `OMS_PAYLOAD_KEY` value."""
    return base64.b64encode(os.urandom(32)).decode()


@asynccontextmanager
async def security_stack(
    client: Client,
    db_url: str,
    *,
    auto_warehouse: bool = True,
    run_worker: bool = True,
    time_scale: float = TEST_TIME_SCALE,
    return_window_days: float = 0.5,
    carrier_time_scale: float | None = None,
    **settings_fields: Any,
) -> AsyncIterator[Stack]:
    """`tests.conftest.running_stack` with extra settings (payload key, task queue...).

    `carrier_time_scale` makes the sandbox carriers slower (or faster) than everything else.
    """
    from api.app import create_app
    from config.settings import Settings
    from workers.assembly import build_integrations
    from workers.seed import seed_demo
    from workers.worker import build_worker, worker_services

    settings = Settings(
        database_url=db_url,
        task_queue=settings_fields.pop("task_queue", f"tq-{uuid.uuid4().hex[:8]}"),
        admin_api_key=SecretStr(ADMIN_KEY),
        time_scale=time_scale,
        return_window_days=return_window_days,
        public_url="http://oms.test",
        sandbox_warehouse=auto_warehouse,
        **settings_fields,
    )
    database = Database(db_url)
    await migrate.upgrade(database.engine)
    stack = Stack(settings, database, client)
    await seed_demo(stack.sessions)
    stack.integrations = build_integrations(settings, stack.sessions)
    if carrier_time_scale is not None:
        from integrations.carriers.sandbox import sandbox_carriers

        stack.integrations.carriers = sandbox_carriers(
            stack.sessions, time_scale=carrier_time_scale
        )
    app = create_app(settings, temporal_client=client)
    async with AsyncExitStack() as exits:
        await exits.enter_async_context(app.router.lifespan_context(app))
        stack.http = await exits.enter_async_context(
            # A server error is a 500 response here (as a client sees it), so tests can report
            # every failing route instead of stopping at the first exception.
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                base_url="http://oms.test",
            )
        )
        await exits.enter_async_context(
            worker_services(
                client, settings, stack.sessions, stack.integrations, warehouse_poll_s=0.05
            )
        )
        if run_worker:
            worker = build_worker(client, settings, stack.sessions, stack.integrations)
            await exits.enter_async_context(worker)
        stack.app = app  # type: ignore[attr-defined]
        yield stack
    await database.dispose()


@pytest.fixture
def no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps built in this test do not throttle (load and fuzz tests send thousands of calls)."""
    monkeypatch.setenv("OMS_RATE_LIMIT_ENABLED", "false")


@pytest.fixture
async def api_stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """The app on a seeded SQLite database, without a worker (for HTTP-only tests)."""
    async with security_stack(
        temporal_client,
        f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}",
        auto_warehouse=False,
        run_worker=False,
    ) as stack:
        yield stack


@pytest.fixture
async def role_keys(api_stack: Stack) -> dict[str, str]:
    """A key per role (the admin one is the stack's provisioned key)."""
    keys = {"admin": ADMIN_KEY}
    async with api_stack.sessions.begin() as session:
        for role in ("channel", "ops"):
            _, keys[role] = await auth.create(session, role, f"test {role}")
    return keys


@pytest.fixture
def payload_key() -> str:
    """A payload key for one test."""
    return new_payload_key()


@pytest.fixture
async def encrypted_client(temporal_env: WorkflowEnvironment, payload_key: str) -> Client:
    """A client of the session's server whose payloads are encrypted with `payload_key`."""
    from config.settings import Settings

    settings = Settings(payload_key=SecretStr(payload_key))
    target = temporal_env.client.service_client.config.target_host
    return await Client.connect(
        target,
        namespace=temporal_env.client.namespace,
        data_converter=data_converter(settings),
    )


@pytest.fixture
async def encrypted_stack(
    encrypted_client: Client, payload_key: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    """App, worker and warehouse on a codec client; the app's codec server has the same key."""
    async with security_stack(
        encrypted_client, f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}", payload_key=payload_key
    ) as stack:
        yield stack
