"""Fixtures of the security and reliability tests: a stack with its own settings, role keys."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api import auth
from config.temporal import data_converter
from tests.conftest import ADMIN_KEY, Stack, running_stack


def new_payload_key() -> str:
    """A fresh `OMS_PAYLOAD_KEY` value."""
    return base64.b64encode(os.urandom(32)).decode()


@asynccontextmanager
async def security_stack(client: Client, db_url: str, **options: Any) -> AsyncIterator[Stack]:
    """`running_stack` where a server error is a 500 response (as a client sees it), so tests
    report every failing route instead of stopping at the first exception."""
    async with running_stack(client, db_url, raise_app_exceptions=False, **options) as stack:
        yield stack


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
