"""Fixtures for simulator tests: each runs on a sandbox database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from sandbox.carriers import SandboxCarrier, sandbox_carriers
from sandbox.db import open_sandbox_database
from sandbox.payments import SandboxPaymentGateway
from sandbox.tables import SandboxBase
from sandbox.warehouse import SandboxWarehouse
from store.db import Database
from tests.sandbox.fakes import FakeClock

POSTGRES_ADMIN_URL = os.environ.get(
    "OMS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
# A Monday morning, so nothing depends on the day tests happen to run.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def empty_database(kind: str, directory: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database of `kind` (a SQLite file in `directory`), or skip."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'sandbox.sqlite3'}"
        return
    name = f"oms_sbx_{secrets.token_hex(6)}"
    admin = create_async_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as exc:
        await admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {exc}")
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def sandbox_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """An empty database for the simulators, once per backend for the whole session."""
    async with empty_database(request.param, tmp_path_factory.mktemp("sandbox")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_sandbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind for one test (schema creation tests)."""
    async with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
async def sandbox_db(sandbox_url: str) -> AsyncIterator[Database]:
    """The sandbox database as the worker opens it (schema made by `open_sandbox_database`)."""
    database = await open_sandbox_database(sandbox_url, pool_size=12)
    yield database
    await database.dispose()


@pytest.fixture
async def sessions(sandbox_db: Database) -> async_sessionmaker[AsyncSession]:
    """Sessions on the sandbox database, its tables emptied for this test."""
    async with sandbox_db.engine.begin() as conn:
        for table in reversed(SandboxBase.metadata.sorted_tables):
            await conn.execute(table.delete())
    return sandbox_db.sessions


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at T0."""
    return FakeClock(T0)


@pytest.fixture
def gateway(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> SandboxPaymentGateway:
    """The sandbox payment gateway, without simulated latency."""
    return SandboxPaymentGateway(sessions, time_scale=1.0, clock=clock, latency_s=0)


@pytest.fixture
def carriers(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> dict[str, SandboxCarrier]:
    """Both sandbox carriers at time scale 1 on the fake clock; parcels must be handed over."""
    return sandbox_carriers(sessions, time_scale=1.0, clock=clock, latency_s=0)


@pytest.fixture
def warehouse(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> SandboxWarehouse:
    """The sandbox WMS at time scale 1 on the fake clock, reporting events."""
    return SandboxWarehouse(sessions, time_scale=1.0, clock=clock, auto_events=True)
