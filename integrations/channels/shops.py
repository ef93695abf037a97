"""Which client speaks to a connected shop: the one place that picks a `ShopClient`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from integrations.channels.shop import ShopClient

SHOP_CHANNELS = ("shopify", "woocommerce")
# What each platform's credentials must hold (`webhook_secret` verifies its deliveries).
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "shopify": ("access_token", "webhook_secret"),
    "woocommerce": ("consumer_key", "consumer_secret", "webhook_secret"),
}


class ShopFactory(Protocol):
    """Builds the client of one connection (tests pass one with an in-process transport)."""

    def __call__(
        self,
        channel: str,
        base_url: str,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
    ) -> ShopClient: ...


def open_shop(
    channel: str,
    base_url: str,
    credentials: Mapping[str, Any],
    options: Mapping[str, Any],
    *,
    shopify_api_version: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ShopClient:
    """The platform's client on `base_url`, authenticated with the connection's credentials."""
    if channel == "shopify":
        from integrations.channels.shopify_admin import ShopifyAdminClient

        return ShopifyAdminClient(
            base_url,
            str(credentials["access_token"]),
            api_version=str(options.get("api_version") or shopify_api_version),
            webhook_secret=str(credentials.get("webhook_secret") or ""),
            transport=transport,
        )
    if channel == "woocommerce":
        from integrations.channels.woocommerce_rest import WooCommerceClient

        return WooCommerceClient(
            base_url,
            str(credentials["consumer_key"]),
            str(credentials["consumer_secret"]),
            webhook_secret=str(credentials.get("webhook_secret") or ""),
            transport=transport,
        )
    raise ValueError(f"no shop client for channel {channel!r}")
