"""The sandbox WooCommerce site's data: products, variations, stock, orders, notes, webhooks.

Documents have the shapes of WooCommerce REST v3 responses (the REST API docs' examples), ids
come from one sequence as WordPress post ids do, and dates are WooCommerce's: `date_*` in the
site's time zone (UTC here) and `date_*_gmt`, both without an offset, to the second.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

# Statuses in which WooCommerce has reduced stock for an order (`wc_maybe_reduce_stock_levels`
# runs on payment and on processing/completed/on-hold); a cancel puts it back.
STOCK_REDUCED = frozenset({"processing", "completed", "on-hold"})
ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
WEBHOOK_TOPICS = (
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
)
DEFAULT_ADDRESS = {
    "first_name": "John",
    "last_name": "Doe",
    "company": "",
    "address_1": "969 Market",
    "address_2": "",
    "city": "San Francisco",
    "state": "CA",
    "postcode": "94103",
    "country": "US",
}


class WooError(Exception):
    """A WooCommerce REST error: `{"code","message","data":{"status"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        """The JSON WooCommerce answers with."""
        return {"code": self.code, "message": self.message, "data": {"status": self.status}}


STATE_TABLES = ("products", "variations", "orders", "notes", "webhooks", "refunds")


@dataclass
class WooShopState:
    """Everything the site stores (what `state_path` persists)."""

    next_id: int = 100
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variations: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Order id -> its refunds, newest first (as `GET /orders/{id}/refunds` lists them).
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe copy (object keys become strings)."""
        return {
            "next_id": self.next_id,
            **{name: {str(k): v for k, v in getattr(self, name).items()} for name in STATE_TABLES},
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> WooShopState:
        """Read back what `to_json` wrote."""
        state = cls(next_id=int(doc.get("next_id", 100)))
        for name in STATE_TABLES:
            setattr(state, name, {int(k): v for k, v in (doc.get(name) or {}).items()})
        return state


def wc_date(moment: datetime) -> str:
    """WooCommerce's date format: ISO 8601 to the second, no offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def money(value: Decimal) -> str:
    """Amounts as WooCommerce's strings with two decimals."""
    return f"{value.quantize(Decimal('0.01'))}"


class WooStore:
    """The site's catalogue and webhooks over its state, and its persistence (orders are in
    `woocommerce_orders`)."""

    def __init__(
        self,
        site_url: str,
        *,
        state_path: str | Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.site_url = site_url.rstrip("/")
        self.state_path = Path(state_path) if state_path else None
        self.now = clock or (lambda: datetime.now(UTC))
        self.state = WooShopState()
        if self.state_path and self.state_path.exists():
            self.state = WooShopState.from_json(json.loads(self.state_path.read_text()))

    def save(self) -> None:
        """Persist the state when a `state_path` is set (atomic replace)."""
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state.to_json(), indent=1))
        tmp.replace(self.state_path)

    def next_id(self) -> int:
        """The next post id (products, variations, orders, line items, notes, webhooks)."""
        self.state.next_id += 1
        return self.state.next_id

    def stamp(self, doc: dict[str, Any], *names: str) -> None:
        """Set `name` and `name_gmt` to now, for each name."""
        now = self.now()
        for name in names:
            doc[name], doc[f"{name}_gmt"] = wc_date(now), wc_date(now)

    def links(self, path: str, collection: str) -> dict[str, Any]:
        """The `_links` of a resource."""
        base = f"{self.site_url}/wp-json/wc/v3"
        return {
            "self": [{"href": f"{base}/{path}"}],
            "collection": [{"href": f"{base}/{collection}"}],
        }

    # ---- catalogue ----------------------------------------------------------------------------

    def add_product(
        self,
        name: str,
        *,
        sku: str = "",
        price: str = "10.00",
        kind: str = "simple",
        stock: int | None = None,
    ) -> dict[str, Any]:
        """A simple or variable product."""
        pid = self.next_id()
        doc: dict[str, Any] = {
            "id": pid,
            "name": name,
            "slug": name.lower().replace(" ", "-"),
            "permalink": f"{self.site_url}/product/{name.lower().replace(' ', '-')}/",
            "type": kind,
            "status": "publish",
            "sku": sku,
            "price": price,
            "regular_price": price if kind == "simple" else "",
            "manage_stock": stock is not None,
            "stock_quantity": stock,
            "stock_status": "instock",
            "attributes": [],
            "variations": [],
            "parent_id": 0,
        }
        self.stamp(doc, "date_created", "date_modified")
        doc["_links"] = self.links(f"products/{pid}", "products")
        self.state.products[pid] = doc
        return doc

    def add_variation(
        self,
        parent_id: int,
        options: Mapping[str, str],
        *,
        sku: str = "",
        price: str = "10.00",
        stock: int | None = None,
    ) -> dict[str, Any]:
        """A variation of a variable product, e.g. `{"Size": "M"}`."""
        parent = self.product(parent_id)
        vid = self.next_id()
        doc: dict[str, Any] = {
            "id": vid,
            "parent_id": parent_id,
            "name": f"{parent['name']} - {', '.join(options.values())}",
            "sku": sku,
            "price": price,
            "regular_price": price,
            "manage_stock": stock is not None,
            "stock_quantity": stock,
            "stock_status": "instock",
            "attributes": [
                {"id": 0, "name": key, "option": value} for key, value in options.items()
            ],
        }
        self.stamp(doc, "date_created", "date_modified")
        doc["_links"] = self.links(f"products/{parent_id}/variations/{vid}", "products")
        self.state.variations[vid] = doc
        parent["variations"].append(vid)
        for key, value in options.items():
            attribute = next((a for a in parent["attributes"] if a["name"] == key), None)
            if attribute is None:
                attribute = {"id": 0, "name": key, "variation": True, "options": []}
                parent["attributes"].append(attribute)
            if value not in attribute["options"]:
                attribute["options"].append(value)
        return doc

    def product(self, product_id: int) -> dict[str, Any]:
        """A product by id, or WooCommerce's 404."""
        doc = self.state.products.get(product_id)
        if doc is None:
            raise WooError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return doc

    def variation(self, product_id: int, variation_id: int) -> dict[str, Any]:
        """A variation of `product_id`, or WooCommerce's 404."""
        doc = self.state.variations.get(variation_id)
        if doc is None or doc["parent_id"] != product_id:
            raise WooError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        return doc

    def update_stock(self, doc: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply the stock fields of a product or variation update."""
        if "stock_quantity" in body:
            raw = body["stock_quantity"]
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
                raise WooError(400, "rest_invalid_param", "Invalid parameter(s): stock_quantity")
            doc["stock_quantity"] = raw
        if "manage_stock" in body:
            doc["manage_stock"] = bool(body["manage_stock"])
        for key in ("sku", "name", "regular_price", "price"):
            if key in body:
                doc[key] = body[key]
        if doc.get("manage_stock"):
            doc["stock_status"] = (
                "instock" if (doc.get("stock_quantity") or 0) > 0 else "outofstock"
            )
        self.stamp(doc, "date_modified")
        return doc

    # ---- webhooks -----------------------------------------------------------------------------

    def create_webhook(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A webhook subscription; `topic` and `delivery_url` are mandatory."""
        topic, url = str(body.get("topic") or ""), str(body.get("delivery_url") or "")
        if topic not in WEBHOOK_TOPICS:
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): topic")
        if not url.startswith(("http://", "https://")):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): delivery_url")
        status = str(body.get("status") or "active")
        if status not in ("active", "paused", "disabled"):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
        hid = self.next_id()
        resource, event = topic.split(".")
        hook: dict[str, Any] = {
            "id": hid,
            "name": str(body.get("name") or f"Webhook created on {wc_date(self.now())}"),
            "status": status,
            "topic": topic,
            "resource": resource,
            "event": event,
            "hooks": [],
            "delivery_url": url,
            "secret": str(body.get("secret") or secrets.token_hex(16)),
            "failure_count": 0,
        }
        self.stamp(hook, "date_created", "date_modified")
        hook["_links"] = self.links(f"webhooks/{hid}", "webhooks")
        self.state.webhooks[hid] = hook
        return hook

    def webhook(self, webhook_id: int) -> dict[str, Any]:
        """A webhook by id, or WooCommerce's 404."""
        hook = self.state.webhooks.get(webhook_id)
        if hook is None:
            raise WooError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        return hook

    def hooks_for(self, topic: str) -> list[dict[str, Any]]:
        """Active webhooks subscribed to `topic`."""
        return [
            h
            for h in self.state.webhooks.values()
            if h["topic"] == topic and h["status"] == "active"
        ]


def public_webhook(hook: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook as the API shows it: the secret is write-only."""
    return {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}
