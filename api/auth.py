"""API keys: stored as SHA-256 hashes, each with a role that grants a set of permissions."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import ApiKey, utcnow

Role = Literal["channel", "ops", "admin"]
ROLES: tuple[Role, ...] = ("channel", "ops", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "channel": frozenset({"orders:create"}),
    "ops": frozenset(
        {
            "orders:create",
            "orders:read",
            "orders:act",
            "inventory:read",
            "inventory:write",
            "catalogue:read",
            "catalogue:write",
            "locations:read",
            "shipments:read",
            "shipments:write",
            "returns:read",
            "returns:write",
            "analytics:read",
            "routing:read",
            "routing:write",
            "connections:read",
            "connections:sync",
        }
    ),
}
PERMISSIONS["admin"] = PERMISSIONS["ops"] | {"locations:write", "keys:admin", "connections:admin"}


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """(key_id, key): the key is shown once; only its hash is stored."""
    key_id = secrets.token_hex(6)
    return key_id, f"oms_{key_id}_{secrets.token_urlsafe(24)}"


async def find(session: AsyncSession, key: str) -> ApiKey | None:
    """The active key record for a presented key."""
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    return row


async def provision(session: AsyncSession, key: str, role: Role, name: str) -> ApiKey:
    """Make sure `key` exists with `role` (used for OMS_ADMIN_API_KEY at start)."""
    digest = hash_key(key)
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if row is None:
        row = ApiKey(key_id=secrets.token_hex(6), key_hash=digest, role=role, name=name)
        session.add(row)
    else:
        row.role, row.revoked_at = role, None
    await session.flush()
    return row


async def create(session: AsyncSession, role: Role, name: str) -> tuple[ApiKey, str]:
    """A new random key; returns the record and the key (shown once)."""
    key_id, key = new_key()
    row = ApiKey(key_id=key_id, key_hash=hash_key(key), role=role, name=name)
    session.add(row)
    await session.flush()
    return row, key


async def has_active_admin(session: AsyncSession) -> bool:
    """Whether any admin key can still sign in."""
    row = await session.scalar(
        select(ApiKey.key_id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None)).limit(1)
    )
    return row is not None


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key record, newest first (hashes stay server-side)."""
    rows = await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.key_id))
    return list(rows)


async def revoke(session: AsyncSession, key_id: str) -> ApiKey | None:
    """Revoke a key (idempotent); None when no such key exists."""
    row = await session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row
