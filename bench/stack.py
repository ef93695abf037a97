"""The stack a benchmark runs on: Temporal (embedded dev server or given), database, worker, app.

Built like tests/conftest.running_stack: a migrated, seeded database, the OMS worker on its own
task queue, the sandbox warehouse simulator, and the FastAPI app behind an in-process client.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from config.temporal import data_converter
from store import inventory
from workflows.search_attributes import CHANNEL, LOCATION, ORDER_STATUS

ADMIN_KEY = "oms_bench_admin_key_0123456789"
TIME_SCALE = 1e-6
SIMULATOR_POLL_S = 0.05
STOCK_UNITS = 1_000_000
PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


@dataclass
class StackOptions:
    """Where to run: None means start our own."""

    temporal_address: str | None = None
    database_url: str | None = None
    # The simulators' database; None: a SQLite file in the stack's work dir.
    sandbox_database_url: str | None = None
    simulator_poll_s: float = SIMULATOR_POLL_S


@dataclass
class Stack:
    """Everything a phase needs."""

    client: Client
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    integrations: Any
    owns_temporal: bool
    workdir: Path

    def headers(self) -> dict[str, str]:
        """The admin key's auth header."""
        return {"Authorization": f"Bearer {ADMIN_KEY}"}


async def _temporal(
    opts: StackOptions, workdir: Path, exits: AsyncExitStack
) -> tuple[Client, bool]:
    if opts.temporal_address:
        from workers.temporal_setup import ensure_search_attributes

        client = await Client.connect(opts.temporal_address, data_converter=data_converter())
        await ensure_search_attributes(client, "default")
        return client, False
    from workers.embedded import temporal_binary

    with _stdout_to_stderr():  # the dev server prints a banner; stdout is the report's
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            dev_server_database_filename=str(workdir / "temporal.sqlite"),
            dev_server_extra_args=PRAGMAS,
            data_converter=data_converter(),
            search_attributes=[ORDER_STATUS, CHANNEL, LOCATION],
        )
    exits.push_async_callback(env.shutdown)
    return env.client, True


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while a child process starts (it inherits it)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


async def top_up_stock(sessions: async_sessionmaker[AsyncSession], units: int) -> None:
    """Plenty of every demo SKU in the warehouses, so the pipeline never backorders."""
    from workers.seed import SKUS, STOCK

    async with sessions.begin() as session:
        for location_id in STOCK:
            for sku, *_ in SKUS:
                await inventory.adjust(session, sku, location_id, units, "bench top-up")


@asynccontextmanager
async def open_stack(opts: StackOptions, **settings: Any) -> AsyncIterator[Stack]:
    """Start (or connect to) everything; tear it all down on exit."""
    from workers.local_stack import LocalStack, local_stack

    async with AsyncExitStack() as exits:
        workdir = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="oms-bench-")))
        client, owned = await _temporal(opts, workdir, exits)
        db_url = opts.database_url or f"sqlite+aiosqlite:///{workdir / 'oms.sqlite3'}"
        config = Settings(
            database_url=db_url,
            sandbox_database_url=opts.sandbox_database_url
            or f"sqlite+aiosqlite:///{workdir / 'sandbox.sqlite3'}",
            task_queue=f"bench-{uuid.uuid4().hex[:8]}",
            admin_api_key=SecretStr(ADMIN_KEY),
            time_scale=TIME_SCALE,
            return_window_days=0,
            public_url="http://oms.bench",
            sandbox_warehouse=True,
            log_level="WARNING",
            **settings,
        )

        async def prepare(local: LocalStack) -> None:
            # Plenty of everything up front: no phase backorders, and the channel pushes of
            # this receipt are over before anything is timed.
            await top_up_stock(local.sessions, STOCK_UNITS)
            assert local.integrations.sandbox_warehouse is not None, "the bench needs it"

        local = await exits.enter_async_context(
            local_stack(
                client,
                config,
                base_url="http://oms.bench",
                warehouse_poll_s=opts.simulator_poll_s,
                prepare=prepare,
            )
        )
        yield Stack(
            client,
            config,
            local.database.engine,
            local.sessions,
            local.http,
            local.integrations,
            owned,
            workdir,
        )
