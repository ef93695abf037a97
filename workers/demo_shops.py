"""`oms up --demo`: connect the OMS to the demo's shops the way a merchant connects theirs.

Each demo shop becomes a channel connection (credentials sealed like any other), its
listings are synced and its webhooks subscribed; from then on the demo is the live loop:
orders arrive by the shop's signed webhooks, fulfilments and stock go back to it.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from temporalio.client import Client

from config.credentials import credential_box
from config.settings import Settings
from domain.connections import ConnectionOptions
from domain.errors import AlreadyExists
from sandbox.demo_shops import SHOPIFY_DOMAIN, SHOPIFY_LOCATIONS, SHOPIFY_TOKEN, DemoShops
from sandbox.woocommerce_shop import DEFAULT_KEY, DEFAULT_SECRET
from services import connections, shop_sync
from services.connections import ConnectionSpec
from store.db import create_engine, session_factory

log = structlog.get_logger(__name__)


def demo_connections(shops: DemoShops, secrets: Mapping[str, str]) -> list[ConnectionSpec]:
    """The demo's connections, as a merchant would send them to `POST /v1/channel-connections`."""
    warehouse, store = SHOPIFY_LOCATIONS
    return [
        ConnectionSpec(
            connection_id="demo-shopify",
            channel="shopify",
            base_url=shops.shopify_url,
            credentials={"access_token": SHOPIFY_TOKEN, "webhook_secret": secrets["shopify"]},
            options={
                "shop": SHOPIFY_DOMAIN,
                # The store's warehouse shows our DCs' stock, its shop the Chicago store's.
                "location_map": {
                    warehouse: ["WH-EAST", "WH-CENTRAL", "WH-WEST"],
                    store: ["STORE-CHI"],
                },
            },
        ),
        ConnectionSpec(
            connection_id="demo-woocommerce",
            channel="woocommerce",
            base_url=shops.woocommerce_url,
            credentials={
                "consumer_key": DEFAULT_KEY,
                "consumer_secret": DEFAULT_SECRET,
                "webhook_secret": secrets["woocommerce"],
            },
            options={},
        ),
    ]


async def connect_demo_shops(
    client: Client, settings: Settings, shops: DemoShops, secrets: Mapping[str, str]
) -> list[str]:
    """Connect (once) and sync each demo shop; returns the connection ids."""
    engine = create_engine(settings.database_url_resolved())
    sessions = session_factory(engine)
    box = credential_box(settings)
    ids = []
    try:
        for spec in demo_connections(shops, secrets):
            try:
                row = await connections.connect(sessions, box, spec)
            except AlreadyExists:
                async with sessions() as session:
                    row = await connections.get_connection(session, spec.connection_id)
            options = ConnectionOptions.model_validate(row.options or {})
            await shop_sync.ensure_schedules(
                client, settings, row.connection_id, row.channel, options
            )
            _, result = await shop_sync.sync_now(
                client, settings, row.connection_id, row.channel, "listings"
            )
            log.info(
                "demo shop connected",
                connection_id=row.connection_id,
                listings=result.listings if result else None,
            )
            ids.append(row.connection_id)
    finally:
        await engine.dispose()
    return ids
