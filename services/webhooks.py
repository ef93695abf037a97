"""Reading a channel's webhook: verify its signature, name the delivery, keep what to store.

The platforms' header names and signing rules belong to their adapters (`integrations/
channels`); the API passes the raw request here and gets a `Delivery` for channel ingest, or
`Unauthenticated` (401) when the signature does not hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from domain.errors import Unauthenticated
from integrations.channels import shopify, woocommerce
from integrations.channels.base import signature_valid
from services.channels import Delivery


def _verify(secrets: Sequence[str], body: bytes, presented: str | None, header: str) -> None:
    if not secrets:
        # Without a secret nothing can be trusted: refuse rather than accept unsigned orders.
        raise Unauthenticated(f"webhook secret not configured; cannot verify {header}")
    if not signature_valid(secrets, body, presented):
        raise Unauthenticated(f"{header} is missing or does not match the body")


def _kept(headers: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    return {name: headers[name] for name in names if name in headers}


def _fallback_id(body: bytes) -> str:
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def shopify_delivery(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> Delivery:
    """A Shopify webhook, verified by its HMAC header (current or previous secret)."""
    _verify(secrets, body, headers.get(shopify.SIGNATURE_HEADER), "X-Shopify-Hmac-Sha256")
    delivery_id = next(
        (headers[h] for h in shopify.DELIVERY_HEADERS if headers.get(h)), _fallback_id(body)
    )
    topic = headers.get(shopify.TOPIC_HEADER, "")
    return Delivery("shopify", delivery_id, topic, body, _kept(headers, shopify.KEPT_HEADERS))


def woocommerce_delivery(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str]
) -> Delivery | None:
    """A WooCommerce webhook, verified by its signature; None for the unsigned ping."""
    topic = headers.get(woocommerce.TOPIC_HEADER, "")
    if woocommerce.is_ping(topic, body):
        # Sent unsigned when a webhook is saved; it carries no order, so nothing to trust.
        return None
    _verify(secrets, body, headers.get(woocommerce.SIGNATURE_HEADER), "X-WC-Webhook-Signature")
    delivery_id = headers.get(woocommerce.DELIVERY_HEADER) or _fallback_id(body)
    kept = _kept(headers, woocommerce.KEPT_HEADERS)
    return Delivery("woocommerce", delivery_id, topic, body, kept)
