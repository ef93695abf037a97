"""Channel name -> its adapter functions: interpret a delivery, build an inventory push."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.channels import amazon, ebay, etsy, shopify, walmart, woocommerce
from integrations.channels.base import (
    ChannelAction,
    ChannelRequest,
    InventoryLevel,
    MappingError,
    parse_json,
)

# Pulled orders are stored and replayed with this topic; their body is the channel's JSON.
PULL_TOPIC = "order"
WEBHOOK_CHANNELS = ("shopify", "woocommerce")
PULL_CHANNELS = ("amazon", "ebay", "etsy", "walmart")
AMAZON_US_MARKETPLACE = "ATVPDKIKX0DER"

_WEBHOOK: dict[str, Callable[[str, bytes], ChannelAction]] = {
    shopify.CHANNEL: shopify.interpret,
    woocommerce.CHANNEL: woocommerce.interpret,
}
_PULLED: dict[str, Callable[[dict[str, Any]], ChannelAction]] = {
    amazon.CHANNEL: amazon.interpret,
    ebay.CHANNEL: ebay.interpret,
    etsy.CHANNEL: etsy.interpret,
    walmart.CHANNEL: walmart.interpret,
}

InventoryBuilder = Callable[[InventoryLevel], ChannelRequest]
# Marketplaces addressed by SKU. Shopify and WooCommerce stock goes to connected shops by their
# own item and location ids (`ShopClient.set_stock`).
INVENTORY: dict[str, InventoryBuilder] = {
    ebay.CHANNEL: ebay.inventory_request,
    etsy.CHANNEL: etsy.inventory_request,
    walmart.CHANNEL: walmart.inventory_request,
    # The listing's location_ref holds the seller id on Amazon.
    amazon.CHANNEL: lambda level: amazon.inventory_request(
        level, level.location_ref or "SELLER", AMAZON_US_MARKETPLACE
    ),
}


def interpret(channel: str, topic: str, body: bytes) -> ChannelAction:
    """What a stored delivery (webhook or pulled order) asks of us; `MappingError` if invalid."""
    if channel in _WEBHOOK:
        return _WEBHOOK[channel](topic, body)
    if channel in _PULLED:
        return _PULLED[channel](parse_json(body))
    raise MappingError("channel", f"no adapter for channel {channel!r}")


def inventory_builder(channel: str) -> InventoryBuilder:
    """The channel's documented inventory call for one SKU."""
    try:
        return INVENTORY[channel]
    except KeyError:
        raise ValueError(f"no inventory adapter for channel {channel!r}") from None
