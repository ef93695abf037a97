"""The whole OMS in one process, for the test suite and the benchmarks: one builder for both.

A migrated, seeded database; the sandbox integrations; the FastAPI app behind an in-process
HTTP client; the loops that run beside a worker (stock-change relay, sandbox warehouse); and,
unless asked not to, a worker on the settings' task queue. Temporal itself is the caller's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.app import create_app
from config.settings import Settings
from store import migrate
from store.db import Database
from workers.assembly import Integrations, build_integrations
from workers.seed import seed_demo
from workers.worker import build_worker, worker_services


@dataclass
class LocalStack:
    """What a running in-process stack is made of."""

    client: Client
    settings: Settings
    database: Database
    integrations: Integrations
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the OMS database."""
        return self.database.sessions

    @property
    def sandbox_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the simulators' own database (what the 'remote' services saw)."""
        sessions = self.integrations.sandbox_sessions
        assert sessions is not None, "this stack runs no sandbox"
        return sessions


Prepare = Callable[[LocalStack], Awaitable[None]]


@asynccontextmanager
async def local_stack(
    client: Client,
    settings: Settings,
    *,
    base_url: str,
    run_worker: bool = True,
    warehouse_poll_s: float | None = None,
    raise_app_exceptions: bool = True,
    prepare: Prepare | None = None,
    app_factory: Callable[..., FastAPI] = create_app,
) -> AsyncIterator[LocalStack]:
    """Start everything on `settings`; `prepare` runs once the data and integrations are ready
    (more stock, other carriers) and before the app or the worker starts; `app_factory` builds
    the app (the dashboard's tests add their session middleware)."""
    async with AsyncExitStack() as exits:
        database = Database(settings.database_url_resolved(), pool_size=settings.database_pool_size)
        exits.push_async_callback(database.dispose)
        await migrate.upgrade(database.engine)
        await seed_demo(database.sessions)
        integrations = await build_integrations(settings)
        exits.push_async_callback(integrations.aclose)
        app = app_factory(settings, temporal_client=client)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        http = httpx.AsyncClient(transport=transport, base_url=base_url)
        stack = LocalStack(client, settings, database, integrations, app, http)
        if prepare is not None:
            await prepare(stack)
        await exits.enter_async_context(app.router.lifespan_context(app))
        await exits.enter_async_context(http)
        # The relay and (with the sandbox warehouse) the simulator, also for callers that
        # bring their own worker.
        await exits.enter_async_context(
            worker_services(
                client,
                settings,
                database.sessions,
                integrations,
                warehouse_poll_s=warehouse_poll_s,
            )
        )
        if run_worker:
            worker = build_worker(client, settings, database.sessions, integrations)
            await exits.enter_async_context(worker)
        yield stack
