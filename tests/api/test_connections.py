"""`/v1/channel-connections`: what a connection request must hold, and what is never shown."""

from __future__ import annotations

from sqlalchemy import select

from store.connection_tables import ChannelConnection
from tests.conftest import Stack

SHOPIFY = {
    "connection_id": "acme",
    "channel": "shopify",
    "credentials": {"access_token": "shpat_very_secret_token", "webhook_secret": "whsec_x"},
    "options": {"shop": "acme"},
}


async def test_bad_connections_are_refused_naming_the_field(stack: Stack) -> None:
    cases = [
        ({**SHOPIFY, "channel": "myspace"}, "channel"),
        ({**SHOPIFY, "credentials": {"webhook_secret": "x"}}, "credentials.access_token"),
        ({**SHOPIFY, "options": {}}, "options.shop"),
        ({**SHOPIFY, "options": {"shop": "acme", "colour": "red"}}, "options.colour"),
        ({**SHOPIFY, "options": {"shop": "acme", "api_version": "2026-13"}}, "options.api_version"),
        (
            {**SHOPIFY, "options": {"shop": "acme", "location_map": {"1": ["NOWHERE"]}}},
            "options.location_map.1",
        ),
        ({**SHOPIFY, "base_url": "ftp://acme.example"}, "base_url"),
        (
            {
                "connection_id": "woo",
                "channel": "woocommerce",
                "credentials": {"consumer_key": "k", "consumer_secret": "s", "webhook_secret": "w"},
            },
            "base_url",
        ),
    ]
    for body, field in cases:
        response = await stack.post("/v1/channel-connections", body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text, (field, response.text)
    assert (await stack.get("/v1/channel-connections")).json() == []


async def test_credentials_are_sealed_never_shown_and_gone_on_disconnect(stack: Stack) -> None:
    created = await stack.post("/v1/channel-connections", SHOPIFY)
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["base_url"] == "https://acme.myshopify.com"
    assert view["shop_domain"] == "acme.myshopify.com"
    assert "shpat_very_secret_token" not in created.text
    listed = await stack.get("/v1/channel-connections")
    assert [c["connection_id"] for c in listed.json()] == ["acme"]
    assert "shpat_very_secret_token" not in listed.text and "whsec_x" not in listed.text
    async with stack.sessions() as session:
        stored = await session.scalar(select(ChannelConnection.credentials))
    assert stored and "shpat_very_secret_token" not in stored and "whsec_x" not in stored

    again = await stack.post("/v1/channel-connections", SHOPIFY)
    assert again.status_code == 409
    twin = await stack.post("/v1/channel-connections", {**SHOPIFY, "connection_id": "acme-2"})
    assert twin.status_code == 409  # the same shop twice

    schedules = [s.id async for s in await stack.client.list_schedules()]
    assert f"shop-sync-{stack.settings.task_queue}-acme-orders" in schedules
    gone = await stack.http.delete("/v1/channel-connections/acme", headers=stack.headers())
    assert gone.status_code == 204
    assert (await stack.get("/v1/channel-connections/acme")).status_code == 404
    async with stack.sessions() as session:
        row = await session.get(ChannelConnection, "acme")
    assert row is not None and row.status == "disconnected" and row.credentials == ""
    schedules = [s.id async for s in await stack.client.list_schedules()]
    assert not any(f"{stack.settings.task_queue}-acme-" in s for s in schedules)
    # Disconnected, it may be connected again.
    assert (await stack.post("/v1/channel-connections", SHOPIFY)).status_code == 201


async def test_listing_map_needs_a_sync_and_a_known_sku(stack: Stack) -> None:
    await stack.post("/v1/channel-connections", SHOPIFY)
    unknown = await stack.put("/v1/channel-connections/acme/listings/123", {"sku": "TSHIRT-M"})
    assert unknown.status_code == 404 and "sync first" in unknown.text
    missing = await stack.put("/v1/channel-connections/nope/listings/123", {"sku": "TSHIRT-M"})
    assert missing.status_code == 404
