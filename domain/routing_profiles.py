"""Routing profiles: the knobs of the routing engine, validated when loaded from configuration.

A profile is plain data (parsed from JSON or YAML elsewhere) so ops can tune routing per
channel without a deploy; a typo in a key or a negative weight is refused with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.errors import ProfileError as ProfileError

LocationKind = Literal["warehouse", "store", "3pl", "dropship"]
ALL_KINDS: tuple[LocationKind, ...] = get_args(LocationKind)


class RoutingProfile(BaseModel):
    """How to trade distance, cost and splits when choosing where an order ships from."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(default="default", min_length=1, max_length=64)
    # Maximum number of shipments (distinct locations) per order.
    max_splits: int = Field(default=2, ge=1, le=10)
    allowed_kinds: list[LocationKind] = Field(default_factory=lambda: list(ALL_KINDS), min_length=1)
    excluded_locations: list[str] = Field(default_factory=list)
    # Score = weight_distance * km + weight_cost * estimated cost, per shipment.
    weight_distance: float = Field(default=0.005, ge=0)
    weight_cost: float = Field(default=1.0, ge=0)
    # Added to the score for every shipment beyond the first.
    split_penalty: float = Field(default=5.0, ge=0)
    # True: any location that can ship everything wins over every split.
    prefer_ship_complete: bool = True
    # False: if anything would be backordered, allocate nothing (the whole order waits).
    allow_partial: bool = True

    @field_validator("allowed_kinds", "excluded_locations")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


DEFAULT_PROFILE = RoutingProfile()


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "profile"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def load_profile(data: Mapping[str, Any], *, name: str | None = None) -> RoutingProfile:
    """Validate a profile mapping; `name`, when given, is used unless the mapping sets one."""
    if not isinstance(data, Mapping):
        raise ProfileError(f"profile: expected a mapping, got {type(data).__name__}")
    values = dict(data)
    if name is not None:
        values.setdefault("name", name)
    try:
        return RoutingProfile.model_validate(values)
    except ValidationError as exc:
        label = values.get("name", name or "profile")
        raise ProfileError(f"routing profile {label!r}: {_describe(exc)}") from exc


def load_profiles(data: Mapping[str, Any]) -> dict[str, RoutingProfile]:
    """Validate a mapping of profile name -> profile mapping; `default` is added if missing."""
    if not isinstance(data, Mapping):
        raise ProfileError(f"profiles: expected a mapping, got {type(data).__name__}")
    profiles = {str(key): load_profile(value or {}, name=str(key)) for key, value in data.items()}
    for key, profile in profiles.items():
        if profile.name != key:
            raise ProfileError(f"profiles.{key}.name: must match its key, got {profile.name!r}")
    profiles.setdefault(DEFAULT_PROFILE.name, DEFAULT_PROFILE)
    return profiles


def profile_for(profiles: Mapping[str, RoutingProfile], name: str | None) -> RoutingProfile:
    """The named profile, or the default one when the name is empty or unknown."""
    if name and name in profiles:
        return profiles[name]
    return profiles.get(DEFAULT_PROFILE.name, DEFAULT_PROFILE)
