"""`oms simulate`: send signed, real-format Shopify and WooCommerce deliveries to the API."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from config.settings import Settings
from integrations.channels.base import hmac_b64

SKUS = [
    ("TSHIRT-S", "19.99"),
    ("TSHIRT-M", "19.99"),
    ("HOODIE-M", "54.00"),
    ("CAP-BLK", "24.00"),
    ("MUG-12OZ", "16.00"),
    ("SOCKS-3PK", "14.00"),
    ("TOTE-CNV", "18.00"),
    ("BEANIE", "22.00"),
]
ADDRESSES = [
    ("Ann Lee", "1 Main St", "Austin", "TX", "78701"),
    ("Bo Chen", "350 5th Ave", "New York", "NY", "10118"),
    ("Cy Diaz", "1600 Amphitheatre Pkwy", "Mountain View", "CA", "94043"),
    ("Di Evans", "233 S Wacker Dr", "Chicago", "IL", "60606"),
]
DEV_SECRET = "oms-dev-webhook-secret"


@dataclass(frozen=True)
class Delivery:
    """One HTTP delivery, kept so it can be sent again as a duplicate."""

    path: str
    body: bytes
    headers: dict[str, str]


def _lines(rng: random.Random) -> list[tuple[str, str, int]]:
    return [(sku, price, rng.randint(1, 3)) for sku, price in rng.sample(SKUS, rng.randint(1, 3))]


def shopify_delivery(rng: random.Random, secret: str) -> Delivery:
    """An `orders/create` delivery in Shopify's documented shape, signed like Shopify signs."""
    name, street, city, region, postal = rng.choice(ADDRESSES)
    first, last = name.split()
    order_id = rng.randrange(10**12, 10**13)
    doc: dict[str, Any] = {
        "id": order_id,
        "name": f"#{order_id % 100000}",
        "email": f"{first.lower()}@example.com",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "currency": "USD",
        "financial_status": "paid",
        "total_tax": "0.00",
        "customer": {
            "email": f"{first.lower()}@example.com",
            "first_name": first,
            "last_name": last,
        },
        "shipping_address": {
            "name": name,
            "address1": street,
            "city": city,
            "province_code": region,
            "zip": postal,
            "country_code": "US",
        },
        "line_items": [
            {"id": order_id * 10 + i, "sku": sku, "title": sku, "quantity": qty, "price": price}
            for i, (sku, price, qty) in enumerate(_lines(rng))
        ],
        "shipping_lines": [{"title": "Standard", "code": "Standard", "price": "5.00"}],
    }
    body = json.dumps(doc).encode()
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": "orders/create",
        "x-shopify-hmac-sha256": hmac_b64(secret, body),
        "x-shopify-event-id": str(uuid.UUID(int=rng.getrandbits(128))),
        "x-shopify-shop-domain": "oms-simulator.myshopify.com",
    }
    return Delivery("/v1/channels/shopify/webhooks", body, headers)


def woocommerce_delivery(rng: random.Random, secret: str) -> Delivery:
    """An `order.created` delivery in WooCommerce's REST v3 shape, signed like Woo signs."""
    name, street, city, region, postal = rng.choice(ADDRESSES)
    first, last = name.split()
    address = {
        "first_name": first,
        "last_name": last,
        "address_1": street,
        "city": city,
        "state": region,
        "postcode": postal,
        "country": "US",
    }
    order_id = rng.randrange(10**6, 10**9)
    doc: dict[str, Any] = {
        "id": order_id,
        "status": "processing",
        "currency": "USD",
        "date_created_gmt": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "shipping_total": "5.00",
        "total_tax": "0.00",
        "billing": address | {"email": f"{first.lower()}@example.com"},
        "shipping": address,
        "line_items": [
            {
                "id": i + 1,
                "name": sku,
                "sku": sku,
                "quantity": qty,
                "total": f"{float(price) * qty:.2f}",
            }
            for i, (sku, price, qty) in enumerate(_lines(rng))
        ],
        "shipping_lines": [
            {"method_id": "flat_rate", "method_title": "Flat rate", "total": "5.00"}
        ],
    }
    body = json.dumps(doc).encode()
    headers = {
        "content-type": "application/json",
        "x-wc-webhook-topic": "order.created",
        "x-wc-webhook-signature": hmac_b64(secret, body),
        "x-wc-webhook-delivery-id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "x-wc-webhook-source": "https://oms-simulator.example/",
    }
    return Delivery("/v1/channels/woocommerce/webhooks", body, headers)


def _progress(done: int, total: int, counts: Counter[str]) -> None:
    width = 30
    filled = width * done // max(total, 1)
    summary = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {summary}  ")
    sys.stderr.flush()


async def run(
    args: argparse.Namespace, settings: Settings, http: httpx.AsyncClient | None = None
) -> Counter[str]:
    """Send the deliveries at the requested rate; count what the API answered."""
    rng = random.Random(args.seed)
    shopify_secret = args.shopify_secret or _secret(settings.shopify_webhook_secret)
    woo_secret = args.woocommerce_secret or _secret(settings.woocommerce_webhook_secret)
    sent: list[Delivery] = []
    counts: Counter[str] = Counter()
    total = args.orders
    interval = 1.0 / args.rate
    owned = http is None
    http = http or httpx.AsyncClient(base_url=args.api.rstrip("/"), timeout=30.0)
    try:

        async def send(delivery: Delivery) -> None:
            try:
                response = await http.post(
                    delivery.path, content=delivery.body, headers=delivery.headers
                )
                answer = response.json() if response.status_code < 500 else {}
                status = answer.get("status", "")
                if status == "accepted" and not answer.get("created"):
                    status = "duplicate"  # raced its own original; still one order
                if response.status_code == 401:
                    status = "unauthorized"
                counts[status if status in ("accepted", "duplicate") else status or "error"] += 1
            except (httpx.HTTPError, ValueError):
                counts["error"] += 1
            _progress(sum(counts.values()), total, counts)

        tasks: list[asyncio.Task[None]] = []
        started = time.monotonic()
        for i in range(total):
            if sent and rng.random() < args.duplicates:
                delivery = rng.choice(sent)  # the very same bytes and headers: a redelivery
            else:
                channel = (
                    args.channel
                    if args.channel != "mixed"
                    else rng.choice(["shopify", "woocommerce"])
                )
                delivery = (
                    shopify_delivery(rng, shopify_secret)
                    if channel == "shopify"
                    else woocommerce_delivery(rng, woo_secret)
                )
                sent.append(delivery)
            tasks.append(asyncio.create_task(send(delivery)))
            await asyncio.sleep(max(0.0, started + (i + 1) * interval - time.monotonic()))
        await asyncio.gather(*tasks)
        if args.key:
            # With an ops key, show what ops will find in the dead-letter queue.
            listed = await http.get(
                "/v1/channels/dead-letters",
                params={"limit": 500},
                headers={"Authorization": f"Bearer {args.key}"},
            )
            if listed.status_code == 200:
                counts["dead_letters_open"] = len(listed.json())
    finally:
        if owned:
            await http.aclose()
    sys.stderr.write("\n")
    return counts


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else DEV_SECRET


def main(args: argparse.Namespace) -> int:
    """Entry point of `oms simulate`; prints a summary, exits 1 if anything was refused."""
    if args.orders < 1 or args.rate <= 0 or not 0 <= args.duplicates < 1:
        print(
            "oms simulate: need --orders >= 1, --rate > 0, 0 <= --duplicates < 1", file=sys.stderr
        )
        return 2
    counts = asyncio.run(run(args, Settings()))
    open_letters = counts.pop("dead_letters_open", None)
    refused = {k: v for k, v in counts.items() if k not in ("accepted", "duplicate")}
    line = (
        f"sent {sum(counts.values())}: accepted {counts['accepted']}, "
        f"duplicate {counts['duplicate']}, rejected {sum(refused.values())}"
    )
    if refused:
        line += f" {refused}"
    if open_letters is not None:
        line += f"; open dead letters: {open_letters}"
    print(line)
    return 1 if counts["unauthorized"] or counts["error"] else 0
