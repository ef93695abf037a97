"""Shopify webhooks in both header spellings: the sandbox shop's signed deliveries checked by
our own verification, and the OMS webhook API taking either spelling (401 when tampered)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from domain.errors import Unauthenticated
from integrations.channels.base import hmac_b64
from services import webhooks
from tests.conftest import Stack
from tests.helpers import eventually
from tests.integrations.channels.conftest import SHOPIFY_SECRET, payload
from tests.integrations.channels.shopify_sandbox import (
    APP_SECRET,
    Received,
    receiver,
    served,
    shopify_sandbox,
)

SHOPIFY = "/v1/channels/shopify/webhooks"


async def test_sandbox_deliveries_pass_our_signature_check_in_both_spellings() -> None:
    received = Received()
    async with shopify_sandbox() as sb, served(receiver(received)) as hooks:
        await sb.client.subscribe_webhooks(f"{hooks}/hooks")
        async with httpx.AsyncClient(base_url=sb.url) as http:
            placed = await http.post(
                "/_sandbox/orders",
                json={"lines": [{"sku": "CAP-BLK", "quantity": 1}], "financial_status": "pending"},
            )
            assert placed.status_code == 201
            ref = placed.json()["order"]["id"]
            await eventually(lambda: len(received.calls) >= 1)
            assert (await http.post(f"/_sandbox/orders/{ref}/paid")).status_code == 200
            await eventually(lambda: len(received.calls) >= 3)  # orders/paid + orders/updated
            await http.post("/_sandbox/webhook-headers", json={"new_headers": True})
            assert (await http.post(f"/_sandbox/orders/{ref}/cancel", json={})).status_code == 200
            await eventually(lambda: len(received.calls) >= 5)
            again = await http.post(f"/_sandbox/orders/{ref}/cancel", json={})
            assert again.status_code == 409

        topics = []
        assert all(sb.client.webhook_valid(h, b) for h, b in received.calls)
        assert not sb.client.webhook_valid(received.calls[0][0], received.calls[0][1] + b" ")
        for headers, body in received.calls:
            delivery = webhooks.shopify_delivery(headers, body, [APP_SECRET])
            assert json.loads(delivery.body)["id"] == ref
            assert delivery.headers["x-shopify-shop-domain"] == sb.shop.domain
            assert delivery.headers["x-shopify-api-version"] == "2026-10"
            topics.append(delivery.topic)
            with pytest.raises(Unauthenticated):
                webhooks.shopify_delivery(headers, body, ["some-other-secret"])
            with pytest.raises(Unauthenticated):
                webhooks.shopify_delivery(headers, body.replace(b'"id"', b'"id" '), [APP_SECRET])
        assert sorted(topics[:3]) == ["orders/create", "orders/paid", "orders/updated"]
        assert sorted(topics[3:]) == ["orders/cancelled", "orders/updated"]
        spellings = [any(k.startswith("x-shopify-") for k in h) for h, _ in received.calls]
        assert spellings == [True, True, True, False, False]
        event_ids = {
            webhooks.shopify_delivery(h, b, [APP_SECRET]).delivery_id for h, b in received.calls
        }
        assert len(event_ids) == 5


async def test_a_failed_delivery_is_retried_with_the_same_event_id() -> None:
    received = Received(fail_first=2)
    async with shopify_sandbox() as sb, served(receiver(received)) as hooks:
        await sb.client.subscribe_webhooks(f"{hooks}/hooks")
        sb.shop.place_order({"lines": [{"sku": "TSHIRT-M", "quantity": 1}]})
        await eventually(lambda: len(received.calls) >= 3)
        ids = {h["x-shopify-event-id"] for h, _ in received.calls}
        assert len(ids) == 1
        record = await eventually(
            lambda: next(iter(sb.shop.state["deliveries"])),
            until=lambda r: r["status"] == "delivered",
        )
        assert record["attempts"] == 3


def _order() -> bytes:
    doc = payload("shopify_orders_create.json") | {"id": uuid.uuid4().int % 10**15}
    return json.dumps(doc).encode()


def _headers(
    body: bytes, prefix: str, event_id: str, secret: str = SHOPIFY_SECRET
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        f"{prefix}topic": "orders/create",
        f"{prefix}hmac-sha256": hmac_b64(secret, body),
        f"{prefix}event-id": event_id,
        f"{prefix}shop-domain": "example.myshopify.com",
        f"{prefix}api-version": "2026-10",
    }


@pytest.mark.parametrize("prefix", ["x-shopify-", "shopify-"])
async def test_webhook_api_takes_either_spelling_and_refuses_tampering(
    chan: Stack, prefix: str
) -> None:
    body = _order()
    event = f"evt-{uuid.uuid4().hex}"
    tampered = await chan.http.post(
        SHOPIFY, content=body.replace(b"Steve", b"Steven"), headers=_headers(body, prefix, event)
    )
    assert tampered.status_code == 401
    wrong = _headers(body, prefix, event, secret="not-the-secret")
    assert (await chan.http.post(SHOPIFY, content=body, headers=wrong)).status_code == 401

    first = await chan.http.post(SHOPIFY, content=body, headers=_headers(body, prefix, event))
    assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
    again = await chan.http.post(SHOPIFY, content=body, headers=_headers(body, prefix, event))
    assert again.json()["status"] == "duplicate"  # the event id is read in this spelling too
