"""Webhook delivery as WooCommerce does it (`WC_Webhook::deliver`), in the background.

The body is the resource's REST v3 JSON (for `*.deleted`, only `{"id": N}`); the headers are
WooCommerce's `X-WC-Webhook-*`, the signature a base64 HMAC-SHA256 of the raw body with the
webhook's secret (computed here from the standard library, independently of the OMS's own
check, so a test of that check means something). A delivery is retried a few times with a
short backoff; consecutive failures disable the webhook as WooCommerce does after five.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

ATTEMPTS = 3
BACKOFF_S = (0.2, 0.5)
MAX_FAILURES = 5  # `woocommerce_max_webhook_delivery_failures`
TIMEOUT_S = 10.0


@dataclass
class DeliveryRecord:
    """One delivery, for tests and the demo to inspect."""

    webhook_id: int
    delivery_id: str
    topic: str
    resource_id: int
    status_code: int | None = None
    attempts: int = 0
    done: bool = False


def signature(secret: str, body: bytes) -> str:
    """`base64_encode(hash_hmac('sha256', $payload, $secret, true))`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Deliverer:
    """Sends webhook deliveries without holding up the API request that caused them."""

    def __init__(self, site_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.source = site_url.rstrip("/") + "/"  # `home_url('/')`
        self.records: list[DeliveryRecord] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._transport = transport

    def send(self, hook: dict[str, Any], payload: dict[str, Any]) -> DeliveryRecord:
        """Schedule one delivery of `payload` to `hook`; returns its record at once."""
        record = DeliveryRecord(
            webhook_id=int(hook["id"]),
            delivery_id=secrets.token_hex(16),
            topic=str(hook["topic"]),
            resource_id=int(payload.get("id") or 0),
        )
        self.records.append(record)
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
            "X-WC-Webhook-Source": self.source,
            "X-WC-Webhook-Topic": record.topic,
            "X-WC-Webhook-Resource": str(hook["resource"]),
            "X-WC-Webhook-Event": str(hook["event"]),
            "X-WC-Webhook-Signature": signature(str(hook["secret"]), body),
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": record.delivery_id,
        }
        task = asyncio.get_running_loop().create_task(self._deliver(hook, body, headers, record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return record

    async def _deliver(
        self, hook: dict[str, Any], body: bytes, headers: dict[str, str], record: DeliveryRecord
    ) -> None:
        async with httpx.AsyncClient(transport=self._transport, timeout=TIMEOUT_S) as http:
            for attempt in range(ATTEMPTS):
                record.attempts = attempt + 1
                try:
                    answer = await http.post(
                        str(hook["delivery_url"]), content=body, headers=headers
                    )
                    record.status_code = answer.status_code
                    # WooCommerce counts 2xx, 301 and 302 as delivered.
                    if 200 <= answer.status_code < 303:
                        hook["failure_count"] = 0
                        break
                except httpx.HTTPError as err:
                    log.info("webhook delivery failed", url=hook["delivery_url"], error=repr(err))
                if attempt < len(BACKOFF_S):
                    await asyncio.sleep(BACKOFF_S[attempt])
            else:
                hook["failure_count"] = int(hook.get("failure_count") or 0) + 1
                if hook["failure_count"] > MAX_FAILURES:
                    hook["status"] = "disabled"
        record.done = True

    async def drain(self) -> None:
        """Wait for the deliveries under way (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
