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
    """A Shopify webhook (`X-Shopify-*` or the newer `Shopify-*` headers), verified by its
    HMAC header under the current or previous secret."""
    presented = shopify.header(headers, shopify.SIGNATURE_HEADERS)
    _verify(secrets, body, presented, "X-Shopify-Hmac-Sha256")
    delivery_id = shopify.header(headers, shopify.DELIVERY_HEADERS) or _fallback_id(body)
    topic = shopify.header(headers, shopify.TOPIC_HEADERS) or ""
    return Delivery("shopify", delivery_id, topic, body, shopify.kept_headers(headers))


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
