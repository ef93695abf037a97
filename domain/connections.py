"""What a channel connection's options may say, checked before anything is stored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Shopify's dated GraphQL Admin API versions look like 2025-10.
API_VERSION_PATTERN = r"^\d{4}-(01|04|07|10)$"


class ConnectionOptions(BaseModel):
    """A connection's behaviour; every field has a default that suits a first connection."""

    model_config = ConfigDict(extra="forbid")

    # Shopify: the shop's name or myshopify domain (`acme` or `acme.myshopify.com`); it is the
    # default `base_url` and what the shop's webhooks name themselves by.
    shop: str | None = Field(default=None, min_length=1, max_length=255)
    # Shop location -> our location(s) whose stock it shows. Empty: the shop's first location
    # shows all of ours (WooCommerce has one stock level; its key is "").
    location_map: dict[str, str | list[str]] = Field(default_factory=dict)
    api_version: str | None = Field(default=None, pattern=API_VERSION_PATTERN)
    sync_inventory: bool = True
    # How often the reconciliation pull looks for orders a webhook missed, and how often the
    # listing map is refreshed (business minutes: `--time-scale` applies).
    reconcile_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    listings_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    # A pull's first read looks back this far.
    lookback_hours: float = Field(default=24.0, gt=0, le=24 * 60)

    def our_locations(self, location_ref: str) -> list[str]:
        """Our locations whose stock the shop location shows."""
        mapped = self.location_map.get(location_ref, [])
        return [mapped] if isinstance(mapped, str) else list(mapped)
