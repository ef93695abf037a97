"""The demo's shops: a WooCommerce site and a Shopify store, each a local server speaking the
platform's wire format, seeded with the demo catalogue and kept in the data dir.

`oms up --demo` runs this as its own process (`oms sandbox-shops`) and connects the OMS to
both through their `base_url`, exactly as a merchant connects a live shop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from sandbox.shopify_shop import serve as serve_shopify
from sandbox.shopify_state import ShopifyShop
from sandbox.woocommerce_routes import serve as serve_woocommerce
from sandbox.woocommerce_shop import WooShop

log = structlog.get_logger(__name__)
DEMO_STOCK = 25
SHOPIFY_DOMAIN = "oms-demo.myshopify.com"
SHOPIFY_TOKEN = "shpat_sandbox"
# The store's two locations (ids of a fresh sandbox store, which numbers from 1001).
SHOPIFY_LOCATIONS = ("1001", "1002")


@dataclass(frozen=True)
class DemoShops:
    """Where the demo's shops listen."""

    host: str
    woocommerce_port: int
    shopify_port: int

    @property
    def woocommerce_url(self) -> str:
        """The WooCommerce site's URL."""
        return f"http://{self.host}:{self.woocommerce_port}"

    @property
    def shopify_url(self) -> str:
        """The Shopify store's Admin API base URL."""
        return f"http://{self.host}:{self.shopify_port}"


def woocommerce_site(shops: DemoShops, state_dir: Path, skus: Sequence[str]) -> WooShop:
    """The demo site, seeded once (a restart keeps its orders and stock)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    site = WooShop(
        site_url=shops.woocommerce_url,
        site_name="OMS demo WooCommerce site",
        state_path=state_dir / "woocommerce.json",
    )
    site.seed(WooShop.demo_products(skus, stock=DEMO_STOCK))
    return site


def shopify_store(
    state_dir: Path, skus: Sequence[tuple[str, str, str]], webhook_secret: str
) -> ShopifyShop:
    """The demo store (`oms-demo.myshopify.com`), seeded on first start: one product per SKU,
    two locations."""
    state_dir.mkdir(parents=True, exist_ok=True)
    store = ShopifyShop(
        domain=SHOPIFY_DOMAIN,
        webhook_secret=webhook_secret,
        access_token=SHOPIFY_TOKEN,
        state_path=state_dir / "shopify.json",
    )
    if not store.state["variants"]:
        store.seed(
            [
                {"sku": sku, "title": name, "price": price, "available": DEMO_STOCK}
                for sku, name, price in skus
            ],
            locations=("Shop warehouse", "Shop store"),
        )
    return store


async def run_demo_shops(
    shops: DemoShops,
    state_dir: Path,
    skus: Sequence[tuple[str, str, str]],
    webhook_secret: str,
) -> None:
    """Serve every demo shop until cancelled. `skus`: (sku, name, price)."""
    site = woocommerce_site(shops, state_dir, [s[0] for s in skus])
    store = shopify_store(state_dir, skus, webhook_secret)
    log.info("demo shops serving", woocommerce=shops.woocommerce_url, shopify=shops.shopify_url)
    await asyncio.gather(
        serve_woocommerce(site, shops.host, shops.woocommerce_port),
        serve_shopify(store, shops.host, shops.shopify_port),
    )
