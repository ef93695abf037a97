"""Fixtures for adapter tests: each sandbox runs against SQLite and against PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import store.sandbox_tables  # noqa: F401  (registers the sandbox tables on Base)
from integrations.carriers.easypost import EasyPostCarrier
from integrations.carriers.sandbox import SandboxCarrier, sandbox_carriers
from integrations.payments.sandbox import SandboxPaymentGateway
from integrations.payments.stripe_gateway import StripeGateway
from integrations.warehouse.sandbox import SandboxWarehouse
from store.db import create_engine, session_factory
from store.tables import Base
from tests.integrations.fake_easypost import API_KEY, FakeEasyPost
from tests.integrations.fakes import FakeClock, FakeStripe

POSTGRES_ADMIN_URL = os.environ.get(
    "OMS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
# A Monday morning, so nothing depends on the day tests happen to run.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


async def _with_schema(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return engine


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A fresh database with every table, once per backend for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sandbox") / "oms.sqlite3"
        sqlite = await _with_schema(create_engine(f"sqlite+aiosqlite:///{path}"))
        yield sqlite
        await sqlite.dispose()
        return
    name = f"oms_it_{secrets.token_hex(6)}"
    admin = create_async_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as exc:
        await admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    postgres = create_engine(url.render_as_string(hide_password=False), pool_size=12)
    try:
        yield await _with_schema(postgres)
    finally:
        await postgres.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on an engine whose sandbox tables were emptied for this test."""
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name.startswith("sandbox_"):
                await conn.execute(table.delete())
    return session_factory(engine)


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
    """Both sandbox carriers at time scale 1 on the fake clock."""
    return sandbox_carriers(sessions, time_scale=1.0, clock=clock, latency_s=0)


@pytest.fixture
def warehouse(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> SandboxWarehouse:
    """The sandbox WMS at time scale 1 on the fake clock, reporting events."""
    return SandboxWarehouse(sessions, time_scale=1.0, clock=clock, auto_events=True)


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A local Stripe API server for one test."""
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_gateway(fake_stripe: FakeStripe) -> StripeGateway:
    """`StripeGateway` pointed at the fake server, without SDK retries (Temporal retries)."""
    return StripeGateway("sk_test_fake", api_base=fake_stripe.url, max_network_retries=0)


@pytest.fixture
def fake_easypost() -> FakeEasyPost:
    """EasyPost's API answered in-process."""
    return FakeEasyPost()


@pytest.fixture
async def easypost(fake_easypost: FakeEasyPost) -> AsyncIterator[EasyPostCarrier]:
    """`EasyPostCarrier` whose HTTP goes to the fake through `httpx.MockTransport`."""
    carrier = EasyPostCarrier(API_KEY, transport=httpx.MockTransport(fake_easypost.handle))
    yield carrier
    await carrier.aclose()
