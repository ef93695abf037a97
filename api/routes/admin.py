"""`/v1/api-keys`: create (the key is shown once), list and revoke API keys (admins only)."""

from __future__ import annotations

from datetime import datetime

import structlog
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api import auth
from api.deps import CurrentKey, SessionsDep, require
from api.errors import ApiError
from store.tables import ApiKey

log = structlog.get_logger(__name__)
router = APIRouter(
    prefix="/v1/api-keys", tags=["admin"], dependencies=[Depends(require("keys:admin"))]
)


class KeyIn(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")
    role: auth.Role
    name: str = Field(min_length=1, max_length=200)


class KeyView(BaseModel):
    """A key record, without its secret."""

    key_id: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    @classmethod
    def of(cls, row: ApiKey) -> KeyView:
        """The view of a stored key."""
        return cls(
            key_id=row.key_id,
            role=row.role,
            name=row.name,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


class KeyCreated(BaseModel):
    """A new key: `key` is shown this once; only its hash is stored."""

    key: str
    key_id: str
    role: str
    name: str
    created_at: datetime


@router.post("", status_code=201, response_model=KeyCreated)
async def create_key(body: KeyIn, sessions: SessionsDep, caller: CurrentKey) -> KeyCreated:
    """Create a key with a role; the response is the only place the key appears."""
    async with sessions.begin() as session:
        row, key = await auth.create(session, body.role, body.name)
        # created_at comes from a Python default, so it is set without a refresh.
        created = KeyCreated(
            key=key, key_id=row.key_id, role=row.role, name=row.name, created_at=row.created_at
        )
    log.info("api key created", key_id=row.key_id, role=row.role, by=caller.key_id)
    return created


@router.get("", response_model=list[KeyView])
async def list_keys(sessions: SessionsDep) -> list[KeyView]:
    """Every key, newest first, revoked ones included (never the secret or its hash)."""
    async with sessions() as session:
        return [KeyView.of(row) for row in await auth.list_keys(session)]


@router.delete(
    "/{key_id}",
    response_model=KeyView,
    responses={404: {"description": "no such key"}, 409: {"description": "last admin key"}},
)
async def revoke_key(key_id: str, sessions: SessionsDep, caller: CurrentKey) -> KeyView:
    """Revoke a key at once (idempotent); the last active admin key cannot be revoked."""
    async with sessions.begin() as session:
        row = await session.get(ApiKey, key_id)
        if row is None:
            raise ApiError(404, "not_found", f"no API key {key_id!r}", field="key_id")
        if row.role == "admin" and row.revoked_at is None:
            await auth.revoke(session, key_id)
            # Revoking the last admin would lock everyone out of key management.
            if not await auth.has_active_admin(session):
                raise ApiError(
                    409, "last_admin_key", "cannot revoke the last active admin key", "key_id"
                )
        else:
            await auth.revoke(session, key_id)
        view = KeyView.of(row)
    log.info("api key revoked", key_id=key_id, by=caller.key_id)
    return view
