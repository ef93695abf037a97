"""The sandbox WooCommerce site's data: products, variations, stock, orders, notes, webhooks.

Documents have the shapes of WooCommerce REST v3 responses (the REST API docs' examples), ids
come from one sequence as WordPress post ids do, and dates are WooCommerce's: `date_*` in the
site's time zone (UTC here) and `date_*_gmt`, both without an offset, to the second.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
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


@dataclass
class WooShopState:
    """Everything the site stores (what `state_path` persists)."""

    next_id: int = 100
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variations: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe copy (object keys become strings)."""
        return {
            "next_id": self.next_id,
            **{
                name: {str(k): v for k, v in getattr(self, name).items()}
                for name in ("products", "variations", "orders", "notes", "webhooks")
            },
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> WooShopState:
        """Read back what `to_json` wrote."""
        state = cls(next_id=int(doc.get("next_id", 100)))
        for name in ("products", "variations", "orders", "notes", "webhooks"):
            setattr(state, name, {int(k): v for k, v in (doc.get(name) or {}).items()})
        return state


def wc_date(moment: datetime) -> str:
    """WooCommerce's date format: ISO 8601 to the second, no offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def money(value: Decimal) -> str:
    """Amounts as WooCommerce's strings with two decimals."""
    return f"{value.quantize(Decimal('0.01'))}"


class WooStore:
    """The site's behaviour over its state; the HTTP layer (`woocommerce_routes`) calls this."""

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

    def _id(self) -> int:
        self.state.next_id += 1
        return self.state.next_id

    def _stamp(self, doc: dict[str, Any], *names: str) -> None:
        now = self.now()
        for name in names:
            doc[name], doc[f"{name}_gmt"] = wc_date(now), wc_date(now)

    def _links(self, path: str, collection: str) -> dict[str, Any]:
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
        pid = self._id()
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
        self._stamp(doc, "date_created", "date_modified")
        doc["_links"] = self._links(f"products/{pid}", "products")
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
        vid = self._id()
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
        self._stamp(doc, "date_created", "date_modified")
        doc["_links"] = self._links(f"products/{parent_id}/variations/{vid}", "products")
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
        self._stamp(doc, "date_modified")
        return doc

    def item_for_line(
        self, line: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(product, variation) that an order line names: by sku or by ids."""
        if line.get("variation_id"):
            variation = self.state.variations.get(int(line["variation_id"]))
            if variation is None:
                raise WooError(
                    400, "woocommerce_rest_invalid_variation_id", "Invalid variation ID."
                )
            return self.product(variation["parent_id"]), variation
        if line.get("product_id"):
            return self.product(int(line["product_id"])), None
        sku = str(line.get("sku") or "")
        for variation in self.state.variations.values():
            if sku and variation["sku"] == sku:
                return self.product(variation["parent_id"]), variation
        for product in self.state.products.values():
            if sku and product["sku"] == sku and product["type"] != "variable":
                return product, None
        raise WooError(400, "woocommerce_rest_invalid_product_id", f"No product with SKU {sku!r}.")

    # ---- orders -------------------------------------------------------------------------------

    def create_order(
        self,
        lines: Sequence[Mapping[str, Any]],
        *,
        status: str = "processing",
        billing: Mapping[str, Any] | None = None,
        shipping: Mapping[str, Any] | None = None,
        shipping_method: tuple[str, str, str] = ("flat_rate", "Flat Rate", "10.00"),
        currency: str = "USD",
    ) -> dict[str, Any]:
        """An order as the checkout would make it (the docs' example order's shape)."""
        if status not in ORDER_STATUSES:
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
        if not lines:
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): line_items")
        oid = self._id()
        items, subtotal = [], Decimal(0)
        for line in lines:
            product, variation = self.item_for_line(line)
            item = variation or product
            qty = int(line.get("quantity") or 1)
            price = Decimal(str(item.get("price") or "0"))
            total = price * qty
            subtotal += total
            items.append(
                {
                    "id": self._id(),
                    "name": (variation or product)["name"],
                    "product_id": product["id"],
                    "variation_id": variation["id"] if variation else 0,
                    "quantity": qty,
                    "tax_class": "",
                    "subtotal": money(total),
                    "subtotal_tax": "0.00",
                    "total": money(total),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [
                        {"id": 0, "key": a["name"], "value": a["option"]}
                        for a in (variation or {}).get("attributes", [])
                    ],
                    "sku": item["sku"],
                    "price": float(price),
                }
            )
        method_id, method_title, ship_total = shipping_method
        bill = {**DEFAULT_ADDRESS, "email": "john.doe@example.com", "phone": "(555) 555-5555"}
        bill.update(billing or {})
        ship = {**DEFAULT_ADDRESS, **(shipping or {})}
        order: dict[str, Any] = {
            "id": oid,
            "parent_id": 0,
            "number": str(oid),
            "order_key": f"wc_order_{secrets.token_hex(6)}",
            "created_via": "checkout",
            "version": "9.4.0",
            "status": "checkout-draft",
            "currency": currency,
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": ship_total,
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": money(subtotal + Decimal(ship_total)),
            "total_tax": "0.00",
            "prices_include_tax": False,
            "customer_id": 0,
            "customer_note": "",
            "billing": bill,
            "shipping": ship,
            "payment_method": "bacs",
            "payment_method_title": "Direct Bank Transfer",
            "transaction_id": "",
            "date_paid": None,
            "date_paid_gmt": None,
            "date_completed": None,
            "date_completed_gmt": None,
            "meta_data": [],
            "line_items": items,
            "tax_lines": [],
            "shipping_lines": [
                {
                    "id": self._id(),
                    "method_title": method_title,
                    "method_id": method_id,
                    "total": ship_total,
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                }
            ],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
            "_links": self._links(f"orders/{oid}", "orders"),
        }
        self._stamp(order, "date_created", "date_modified")
        self.state.orders[oid] = order
        self.state.notes[oid] = []
        self.set_status(order, status)
        return order

    def order(self, order_id: int) -> dict[str, Any]:
        """An order by id, or WooCommerce's 404."""
        doc = self.state.orders.get(order_id)
        if doc is None:
            raise WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return doc

    def set_status(self, order: dict[str, Any], status: str) -> bool:
        """Move an order to `status` with WooCommerce's side effects; False if unchanged."""
        if status not in (*ORDER_STATUSES, "trash"):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
        before = order["status"]
        if before == status:
            return False
        order["status"] = status
        reduced = any(m["key"] == "_order_stock_reduced" for m in order["meta_data"])
        if status in STOCK_REDUCED and not reduced:
            self._move_stock(order, -1)
            order["meta_data"].append({"id": 0, "key": "_order_stock_reduced", "value": "yes"})
        elif status == "cancelled" and reduced:
            self._move_stock(order, +1)
            order["meta_data"] = [
                m for m in order["meta_data"] if m["key"] != "_order_stock_reduced"
            ]
        if status == "processing" and order["date_paid"] is None:
            self._stamp(order, "date_paid")
        if status == "completed":
            self._stamp(order, "date_completed")
        self._stamp(order, "date_modified")
        if before != "checkout-draft":
            self.add_note(order["id"], f"Order status changed from {before} to {status}.")
        return True

    def _move_stock(self, order: dict[str, Any], sign: int) -> None:
        for line in order["line_items"]:
            item = self.state.variations.get(line["variation_id"]) or self.state.products.get(
                line["product_id"]
            )
            if item is not None and item.get("manage_stock"):
                item["stock_quantity"] = (item.get("stock_quantity") or 0) + sign * line["quantity"]

    def add_note(
        self, order_id: int, text: str, *, customer_note: bool = False, author: str = "system"
    ) -> dict[str, Any]:
        """An order note (`customer_note` ones are shown and mailed to the customer)."""
        self.order(order_id)
        if not text:
            raise WooError(400, "woocommerce_rest_missing_note", "Missing note.")
        nid = self._id()
        note = {
            "id": nid,
            "author": author,
            "note": text,
            "customer_note": customer_note,
            "_links": self._links(f"orders/{order_id}/notes/{nid}", f"orders/{order_id}/notes"),
        }
        self._stamp(note, "date_created")
        self.state.notes.setdefault(order_id, []).insert(0, note)  # newest first, as WooCommerce
        return note

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
        hid = self._id()
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
        self._stamp(hook, "date_created", "date_modified")
        hook["_links"] = self._links(f"webhooks/{hid}", "webhooks")
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
