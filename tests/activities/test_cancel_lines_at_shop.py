"""`ShopActivities.cancel_lines_at_shop` end to end below the workflow: a connection made
through the API (credentials sealed), the real Shopify client against the sandbox shop over
HTTP, done once however often it runs, and a refusal that fails for good and shows on the
connection's health."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import io
from activities.shops import ShopActivities
from sandbox.shopify_shop import ShopifyShop, create_app
from tests.conftest import running_stack
from tests.integrations.channels.shopify_sandbox import APP_SECRET, PRODUCTS, TOKEN, served


async def test_the_activity_takes_units_off_once_and_a_refusal_is_final(
    temporal_client: Client, tmp_path: Path
) -> None:
    shop = ShopifyShop(webhook_secret=APP_SECRET, access_token=TOKEN).seed(products=PRODUCTS)
    order = shop.place_order({"lines": [{"sku": "TSHIRT-M", "quantity": 3}]})
    tee = str(order["line_items"][0]["id"])
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with (
        served(create_app(shop)) as shop_url,
        running_stack(temporal_client, url, run_worker=False) as stack,
    ):
        created = await stack.post(
            "/v1/channel-connections",
            {
                "connection_id": "acme",
                "channel": "shopify",
                "base_url": shop_url,
                "credentials": {"access_token": TOKEN, "webhook_secret": APP_SECRET},
                "options": {"shop": "acme"},
            },
        )
        assert created.status_code == 201, created.text
        shops, env = ShopActivities(stack.sessions, stack.settings), ActivityEnvironment()
        inp = io.ShopLinesInput(
            connection_id="acme",
            order_id="ord_1",
            external_id=str(order["id"]),
            idempotency_key="order-shopify-1:shop-lines:cancel-1",
            lines=[(tee, 2)],
            reason="out of stock",
        )
        for _ in range(2):
            await env.run(shops.cancel_lines_at_shop, inp)
        assert shop.order(order["id"])["line_items"][0]["current_quantity"] == 1
        assert len(shop.order(order["id"])["edits"]) == 1

        too_many = inp.model_copy(update={"idempotency_key": "k2", "lines": [(tee, 5)]})
        with pytest.raises(ApplicationError) as err:
            await env.run(shops.cancel_lines_at_shop, too_many)
        assert err.value.type == "ShopRefused" and err.value.non_retryable
        assert "not_editable" in err.value.message
        health = (await stack.get("/v1/channel-connections/acme")).json()
        assert health["health"]["last_error"].startswith("line cancel: ")
