"""Fixtures for channel tests: the app stack plus a worker that also runs the channel workflows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker

import store.channel_tables  # noqa: F401  (registers the channel tables on Base)
from activities.channels import DEFAULT_SYNC_CHANNELS
from integrations.channels.base import hmac_b64
from integrations.channels.pull import Puller
from sandbox.channels import SandboxChannel
from store.tables import Base
from tests.conftest import Stack, drop_postgres, fresh_postgres, postgres_url, running_stack
from workers.assembly import activities_for
from workers.worker import WORKFLOWS

PAYLOADS = Path(__file__).parent / "payloads"
SHOPIFY_SECRET = "shpss_current_secret"
SHOPIFY_PREVIOUS = "shpss_previous_secret"
WOO_SECRET = "wc_secret_0123"


def payload(name: str) -> dict[str, Any]:
    """A recorded, documented payload."""
    return json.loads((PAYLOADS / name).read_text())  # type: ignore[no-any-return]


def signed_shopify(
    body: bytes,
    *,
    topic: str = "orders/create",
    event_id: str = "evt-1",
    secret: str = SHOPIFY_SECRET,
) -> dict[str, str]:
    """Headers Shopify sends with a delivery."""
    return {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": hmac_b64(secret, body),
        "x-shopify-event-id": event_id,
        "x-shopify-shop-domain": "example.myshopify.com",
    }


def signed_woo(
    body: bytes, *, topic: str = "order.created", delivery: str = "d-1"
) -> dict[str, str]:
    """Headers WooCommerce sends with a delivery."""
    return {
        "content-type": "application/json",
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-signature": hmac_b64(WOO_SECRET, body),
        "x-wc-webhook-delivery-id": delivery,
        "x-wc-webhook-source": "https://shop.example/",
    }


@asynccontextmanager
async def channel_stack(
    client: Client, db_url: str, pullers: Mapping[str, Puller] | None = None
) -> AsyncIterator[Stack]:
    """`running_stack` with the channel tables, webhook secrets and a worker running everything."""
    async with running_stack(client, db_url, run_worker=False) as stack:
        async with stack.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)  # skips the migrated tables
        stack.settings.shopify_webhook_secret = SecretStr(SHOPIFY_SECRET)
        stack.settings.shopify_webhook_secret_previous = SecretStr(SHOPIFY_PREVIOUS)
        stack.settings.woocommerce_webhook_secret = SecretStr(WOO_SECRET)
        stack.integrations.channel_endpoints = {
            c: SandboxChannel(stack.sandbox_sessions, c) for c in DEFAULT_SYNC_CHANNELS
        }
        stack.integrations.channel_pullers = dict(pullers or {})
        worker = Worker(
            client,
            task_queue=stack.settings.task_queue,
            workflows=list(WORKFLOWS),
            activities=activities_for(stack.settings, stack.sessions, stack.integrations),
        )
        async with worker:
            yield stack


@pytest.fixture(params=["sqlite", "postgresql"])
async def chan(
    request: pytest.FixtureRequest, temporal_client: Client, tmp_path: Path
) -> AsyncIterator[Stack]:
    """The channel stack on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        async with channel_stack(
            temporal_client, f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
        ) as s:
            yield s
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL not available (run through `make test`)")
    url, name = await fresh_postgres(base)
    try:
        async with channel_stack(temporal_client, url) as s:
            yield s
    finally:
        await drop_postgres(base, name)
