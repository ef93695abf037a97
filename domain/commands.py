"""What ops, warehouses and carriers send to a running order: update and signal payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from domain.models import Address


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Actor(BaseModel):
    """Who asked for a change: the API key (or the dashboard session's key) behind it."""

    key_id: str
    name: str
    role: str = ""


class ActionRequest(_Body):
    """Cancel, hold or release, with the reason ops gave."""

    reason: str = Field(default="", max_length=500)
    # Set by the API from the caller's key (what a client sends here is replaced).
    actor: SkipJsonSchema[Actor | None] = None


class AddressChange(_Body):
    """A new ship-to address (allowed until a label is bought)."""

    ship_to: Address
    actor: SkipJsonSchema[Actor | None] = None


class RerouteRequest(_Body):
    """Route the order again without these locations."""

    exclude_locations: list[str] = Field(default_factory=list, max_length=100)
    reason: str = Field(default="", max_length=500)
    actor: SkipJsonSchema[Actor | None] = None


class FulfilmentEvent(_Body):
    """A warehouse reports progress on a shipment."""

    shipment_id: str = Field(min_length=1, max_length=128)
    type: Literal["picked", "packed", "shipped"]
    at: datetime | None = None


class TrackingUpdate(BaseModel):
    """The tracking child tells its order that a shipment's carrier status changed."""

    shipment_id: str
    status: str
    description: str = ""
    at: datetime | None = None
