"""Request dependencies as `Annotated` aliases: settings, DB session, Temporal, caller key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api import auth
from api.errors import ApiError
from config.credentials import CredentialBox, credential_box
from config.settings import Settings
from services.orders import OpsContext
from store.tables import ApiKey


def get_settings(request: Request) -> Settings:
    """Settings the app was built with."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_credential_box(request: Request) -> CredentialBox:
    """Seals and opens channel credentials (built on first use: it may create the key file)."""
    state = request.app.state
    if getattr(state, "credential_box", None) is None:
        state.credential_box = credential_box(state.settings)
    return state.credential_box  # type: ignore[no-any-return]


def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    """The session factory of the app's engine."""
    return request.app.state.sessions  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session for the request (writes go through `SessionsDep` transactions)."""
    async with request.app.state.read_sessions() as session:
        yield session


async def get_temporal(request: Request) -> Client:
    """The Temporal client, connected on first use so the API starts before Temporal does."""
    client = await request.app.state.temporal.get()
    if client is None:
        raise ApiError(503, "temporal_unavailable", "Temporal is not reachable; try again")
    return client  # type: ignore[no-any-return]


async def current_key(request: Request) -> ApiKey:
    """The caller's API key from `Authorization: Bearer ...` (or the dashboard session)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        token = request.session.get("api_key", "") if "session" in request.scope else ""
        if not token:
            raise ApiError(401, "unauthorized", "missing API key (Authorization: Bearer <key>)")
    # A read: through the reader engine, so checking a key never queues behind writers.
    async with request.app.state.read_sessions() as session:
        key = await auth.find(session, token.strip())
    if key is None:
        raise ApiError(401, "unauthorized", "invalid or revoked API key")
    structlog.contextvars.bind_contextvars(api_key_id=key.key_id)
    return key


async def get_ops(request: Request) -> OpsContext:
    """Database, Temporal and settings for sending ops changes to order workflows."""
    return OpsContext(
        request.app.state.sessions, await get_temporal(request), get_settings(request)
    )


SettingsDep = Annotated[Settings, Depends(get_settings)]
OpsDep = Annotated[OpsContext, Depends(get_ops)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
CurrentKey = Annotated[ApiKey, Depends(current_key)]
BoxDep = Annotated[CredentialBox, Depends(get_credential_box)]


def require(permission: str) -> Callable[..., object]:
    """A dependency that lets through keys whose role grants `permission`."""

    async def check(key: CurrentKey) -> ApiKey:
        if permission not in auth.PERMISSIONS.get(key.role, frozenset()):
            raise ApiError(403, "forbidden", f"role {key.role!r} may not {permission}")
        return key

    return check
