"""The FastAPI application: thin routes over the read model and the Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from temporalio.client import Client

from api import auth, errors, middleware
from api.dashboard import install as install_dashboard
from api.routes import (
    admin,
    catalogue,
    channels,
    codec,
    connections,
    dashboard,
    drafts,
    health,
    inventory,
    orders,
    receivables,
    returns,
    routing,
    shipments,
)
from config import temporal
from config.settings import Settings
from store.db import Database, readers

log = structlog.get_logger(__name__)


class LazyTemporal:
    """Connects to Temporal on first use and again after a failure, never blocking start-up."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings, self._client = settings, client
        self._lock = asyncio.Lock()

    async def get(self) -> Client | None:
        """The client, or None while Temporal is unreachable."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(temporal.connect(self._settings), 5)
                except Exception as err:
                    log.warning("temporal not reachable", error=str(err))
        return self._client


def create_app(settings: Settings, temporal_client: Client | None = None) -> FastAPI:
    """Build the app; the engine and client live as long as the app does."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url_resolved(), pool_size=settings.database_pool_size)
        app.state.settings = settings
        app.state.engine = database.engine
        app.state.sessions = database.sessions
        # GET routes read through their own engine: on SQLite they never queue behind writers.
        app.state.read_sessions = readers(database.sessions)
        app.state.temporal = LazyTemporal(settings, temporal_client)
        if settings.admin_api_key is not None:
            async with app.state.sessions.begin() as session:
                await auth.provision(
                    session, settings.admin_api_key.get_secret_value(), "admin", "OMS_ADMIN_API_KEY"
                )
        yield
        await database.dispose()

    app = FastAPI(
        title="OMS",
        version="0.1.0",
        description="Order management on Temporal: every order is a workflow.",
        lifespan=lifespan,
    )
    errors.install(app)

    for module in (
        health,
        orders,
        drafts,
        returns,
        inventory,
        catalogue,
        routing,
        shipments,
        receivables,
        channels,
        connections,
        admin,
        codec,
        dashboard,
    ):
        app.include_router(module.router)
    app.include_router(shipments.public)
    middleware.install(app, settings)
    install_dashboard(app, settings)  # session cookie for dashboard sign-in
    # Outermost: every response, refusals included, carries a request id and is logged.
    app.add_middleware(middleware.RequestContextMiddleware)
    return app
