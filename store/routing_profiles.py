"""Routing profiles as versioned data: one per channel, `default` for the rest."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.routing_profiles import DEFAULT_PROFILE, RoutingProfile, load_profile
from store.tables import RoutingProfileVersion


async def latest(session: AsyncSession, name: str) -> RoutingProfileVersion | None:
    """The version in force for `name`."""
    return await session.scalar(
        select(RoutingProfileVersion)
        .where(RoutingProfileVersion.name == name)
        .order_by(RoutingProfileVersion.version.desc())
        .limit(1)
    )


async def history(session: AsyncSession, name: str) -> list[RoutingProfileVersion]:
    """Every version of `name`, newest first."""
    rows = await session.scalars(
        select(RoutingProfileVersion)
        .where(RoutingProfileVersion.name == name)
        .order_by(RoutingProfileVersion.version.desc())
    )
    return list(rows)


async def names(session: AsyncSession) -> list[str]:
    """Names that have at least one version."""
    rows = await session.scalars(select(RoutingProfileVersion.name).distinct())
    return sorted(rows)


async def save(session: AsyncSession, name: str, body: dict[str, Any], by: str) -> int:
    """Validate and store a new version; returns its number (raises ProfileError when invalid)."""
    load_profile({**body, "name": name}, name=name)
    current = await session.scalar(
        select(func.max(RoutingProfileVersion.version)).where(RoutingProfileVersion.name == name)
    )
    version = int(current or 0) + 1
    session.add(RoutingProfileVersion(name=name, version=version, body=body, created_by=by))
    await session.flush()
    return version


async def for_channel(session: AsyncSession, channel: str) -> tuple[RoutingProfile, str]:
    """The profile in force for a channel and a label like `shopify@3` for the decision record."""
    for name in (channel, "default"):
        row = await latest(session, name)
        if row is not None:
            return load_profile({**row.body, "name": name}, name=name), f"{name}@{row.version}"
    return DEFAULT_PROFILE, "default@builtin"
