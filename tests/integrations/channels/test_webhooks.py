"""Shopify and WooCommerce webhooks: signatures, dedupe, cancels, dead letters and replay."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select

from api import auth
from store.channel_tables import ChannelDeadLetter
from store.tables import Order, Sku
from tests.conftest import Stack
from tests.integrations.channels.conftest import (
    SHOPIFY_PREVIOUS,
    payload,
    signed_shopify,
    signed_woo,
)

SHOPIFY = "/v1/channels/shopify/webhooks"
WOO = "/v1/channels/woocommerce/webhooks"


def shopify_order(**changes: Any) -> dict[str, Any]:
    """The documented orders/create payload with a fresh id."""
    return payload("shopify_orders_create.json") | {"id": uuid.uuid4().int % 10**15} | changes


async def orders_of(stack: Stack, channel: str) -> int:
    async with stack.sessions() as session:
        return int(await session.scalar(select(func.count()).where(Order.channel == channel)) or 0)


async def test_same_shopify_delivery_three_times_makes_one_order(chan: Stack) -> None:
    body = json.dumps(shopify_order()).encode()
    headers = signed_shopify(body, event_id=f"evt-{uuid.uuid4().hex}")
    answers = [await chan.http.post(SHOPIFY, content=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    assert answers[0].json()["created"] is True
    assert await orders_of(chan, "shopify") == 1
    order = await chan.order(answers[0].json()["order_id"])
    assert [line["sku"] for line in order["lines"]] == ["TSHIRT-M", "CAP-BLK"]


async def test_bad_signatures_are_401_and_rotation_accepts_the_previous_secret(chan: Stack) -> None:
    body = json.dumps(shopify_order()).encode()
    headers = signed_shopify(body)
    tampered = await chan.http.post(
        SHOPIFY, content=body.replace(b"Steve", b"Steven"), headers=headers
    )
    assert tampered.status_code == 401 and "X-Shopify-Hmac-Sha256" in tampered.json()["message"]
    wrong = await chan.http.post(SHOPIFY, content=body, headers=signed_shopify(body, secret="nope"))
    assert wrong.status_code == 401
    unsigned = {k: v for k, v in headers.items() if k != "x-shopify-hmac-sha256"}
    assert (await chan.http.post(SHOPIFY, content=body, headers=unsigned)).status_code == 401
    assert await orders_of(chan, "shopify") == 0

    previous = signed_shopify(body, secret=SHOPIFY_PREVIOUS, event_id="evt-rotated")
    accepted = await chan.http.post(SHOPIFY, content=body, headers=previous)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"


async def test_woocommerce_order_created_lands_and_ping_is_answered(chan: Stack) -> None:
    ping = await chan.http.post(
        WOO, content=b"webhook_id=12", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert ping.status_code == 200 and ping.json() == {"status": "pong"}

    doc = payload("woocommerce_order.json") | {"id": 7000 + uuid.uuid4().int % 1000}
    body = json.dumps(doc).encode()
    answer = await chan.http.post(WOO, content=body, headers=signed_woo(body, delivery="d-created"))
    assert answer.status_code == 200 and answer.json()["status"] == "accepted", answer.text
    order = await chan.order(answer.json()["order_id"])
    assert order["external_id"] == str(doc["id"]) and order["channel"] == "woocommerce"

    again = await chan.http.post(WOO, content=body, headers=signed_woo(body, delivery="d-created"))
    assert again.json()["status"] == "duplicate"
    tampered = await chan.http.post(WOO, content=body + b" ", headers=signed_woo(body))
    assert tampered.status_code == 401


async def test_channel_cancel_cancels_the_order(chan: Stack) -> None:
    doc = shopify_order()
    body = json.dumps(doc).encode()
    created = await chan.http.post(
        SHOPIFY, content=body, headers=signed_shopify(body, event_id="c1")
    )
    order_id = created.json()["order_id"]
    cancelled_doc = doc | {"cancelled_at": "2022-01-01T10:00:00-05:00", "cancel_reason": "customer"}
    cancel_body = json.dumps(cancelled_doc).encode()
    headers = signed_shopify(cancel_body, topic="orders/cancelled", event_id="c2")
    answer = await chan.http.post(SHOPIFY, content=cancel_body, headers=headers)
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled", answer.text
    order = await chan.wait_for(order_id, "cancelled")
    assert order["status"] == "cancelled"


async def test_rejected_deliveries_are_dead_lettered_and_replayable(chan: Stack) -> None:
    doc = shopify_order()
    doc["line_items"][1]["sku"] = "NEW-SKU"
    body = json.dumps(doc).encode()
    rejected = await chan.http.post(
        SHOPIFY, content=body, headers=signed_shopify(body, event_id="r1")
    )
    assert rejected.status_code == 422
    assert rejected.json()["field"] == "lines[1].sku" and "NEW-SKU" in rejected.json()["reason"]

    garbage = b'{"id": 1, "line_items": ['
    broken = await chan.http.post(
        SHOPIFY, content=garbage, headers=signed_shopify(garbage, event_id="r2")
    )
    assert broken.status_code == 422 and "not JSON" in broken.json()["reason"]

    listed = (await chan.get("/v1/channels/dead-letters")).json()
    assert {d["delivery_id"] for d in listed} == {"r1", "r2"}
    letter = next(d for d in listed if d["delivery_id"] == "r1")
    assert (
        json.loads(letter["body"]) == doc
        and letter["headers"]["x-shopify-topic"] == "orders/create"
    )

    still = await chan.post(f"/v1/channels/dead-letters/{letter['id']}/replay", {})
    assert still.status_code == 422
    async with chan.sessions.begin() as session:
        session.add(Sku(sku="NEW-SKU", name="New"))
    replayed = await chan.post(f"/v1/channels/dead-letters/{letter['id']}/replay", {})
    assert replayed.status_code == 200 and replayed.json()["status"] == "accepted", replayed.text
    assert await orders_of(chan, "shopify") == 1
    async with chan.sessions() as session:
        row = await session.get(ChannelDeadLetter, letter["id"])
    assert row is not None and row.status == "replayed" and row.attempts == 2
    again = await chan.post(f"/v1/channels/dead-letters/{letter['id']}/replay", {})
    assert again.status_code == 409
    # A redelivery of the now-replayed delivery is a duplicate, not a second order.
    redelivered = await chan.http.post(
        SHOPIFY, content=body, headers=signed_shopify(body, event_id="r1")
    )
    assert redelivered.json()["status"] == "duplicate"


async def test_dead_letters_need_ops_permissions(chan: Stack) -> None:
    async with chan.sessions.begin() as session:
        _, key = await auth.create(session, "channel", "shop")
    assert (await chan.get("/v1/channels/dead-letters", key=key)).status_code == 403
    assert (await chan.post("/v1/channels/dead-letters/1/replay", {}, key=key)).status_code == 403
    assert (await chan.post("/v1/channels/dead-letters/999/replay", {})).status_code == 404
