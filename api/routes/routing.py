"""`/v1/routing-profiles`: per-channel routing rules as versioned data, edited by ops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.deps import CurrentKey, SessionDep, SessionsDep, require
from api.errors import ApiError
from domain.routing_profiles import ProfileError
from store import routing_profiles as repo

router = APIRouter(prefix="/v1/routing-profiles", tags=["routing"])


class ProfileVersion(BaseModel):
    name: str
    version: int
    body: dict[str, Any]
    created_by: str
    created_at: datetime


class ProfileView(BaseModel):
    name: str
    current: ProfileVersion | None
    versions: list[ProfileVersion]


@router.get("", response_model=list[str], dependencies=[Depends(require("routing:read"))])
async def list_profiles(session: SessionDep) -> list[str]:
    """Profile names (a channel's own name, or `default`)."""
    return await repo.names(session)


@router.get("/{name}", response_model=ProfileView, dependencies=[Depends(require("routing:read"))])
async def get_profile(name: str, session: SessionDep) -> ProfileView:
    """A profile with its version history."""
    versions = [
        ProfileVersion.model_validate(v, from_attributes=True)
        for v in await repo.history(session, name)
    ]
    if not versions and name != "default":
        raise ApiError(404, "not_found", f"no routing profile {name!r}")
    return ProfileView(name=name, current=versions[0] if versions else None, versions=versions)


@router.put(
    "/{name}",
    response_model=ProfileVersion,
    status_code=201,
    dependencies=[Depends(require("routing:write"))],
)
async def put_profile(
    name: str, body: dict[str, Any], sessions: SessionsDep, key: CurrentKey
) -> ProfileVersion:
    """Store a new version (validated; a mistake is a 422 naming the field). Defaults apply."""
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        raise ApiError(422, "validation_error", "letters, digits, - and _ only", "name")
    body = {k: v for k, v in body.items() if k != "name"}
    try:
        async with sessions.begin() as session:
            version = await repo.save(session, name, body, key.key_id)
            row = await repo.latest(session, name)
    except ProfileError as err:
        field, _, message = str(err).partition(": ")[2].partition(": ")
        raise ApiError(422, "validation_error", message or str(err), field or "body") from err
    assert row is not None and row.version == version
    return ProfileVersion.model_validate(row, from_attributes=True)
