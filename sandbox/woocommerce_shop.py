"""A sandbox WooCommerce site that speaks REST v3, for tests and `oms up --demo`.

    shop = WooShop(site_url="http://127.0.0.1:8790")
    shop.seed(WooShop.demo_products(["TSHIRT-S", "TSHIRT-M", "MUG-12OZ"]))
    await serve(shop, "127.0.0.1", 8790)        # or: uvicorn on create_app(shop)

It answers `/wp-json/wc/v3/...` (products, variations, batch stock updates, orders, notes,
refunds, webhooks) with WooCommerce's authentication (HTTP Basic with the API key pair, or the
`consumer_key`/`consumer_secret` query parameters), its error bodies, pagination headers and a
request-rate limit (429 with `Retry-After`, as hosts impose), and delivers signed webhooks
when an order is placed or changes status. `/_sandbox/...` routes (not WooCommerce's) place
orders, pay or cancel them and show the state.

Modules: `woocommerce_state` (documents, catalogue, webhooks, the JSON state file),
`woocommerce_orders` (checkout, statuses and their stock effects, notes),
`woocommerce_delivery` (signed webhook deliveries), `woocommerce_routes` (REST v3 over HTTP),
`woocommerce_controls` (`/_sandbox`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from sandbox.woocommerce_delivery import Deliverer
from sandbox.woocommerce_orders import OrderBook
from sandbox.woocommerce_state import WooError, WooStore, public_webhook

DEFAULT_KEY = "ck_sandbox_0000000000000000000000000000000000000"
DEFAULT_SECRET = "cs_sandbox_0000000000000000000000000000000000000"


class WooShop:
    """One sandbox WooCommerce site: its data, its API key, its rate limit, its webhooks."""

    def __init__(
        self,
        *,
        site_url: str = "http://127.0.0.1:8790",
        site_name: str = "OMS Sandbox Shop",
        consumer_key: str = DEFAULT_KEY,
        consumer_secret: str = DEFAULT_SECRET,
        state_path: str | Path | None = None,
        requests_per_second: int | None = 40,
        clock: Callable[[], datetime] | None = None,
        delivery_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.site_url, self.site_name = site_url.rstrip("/"), site_name
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.store = WooStore(self.site_url, state_path=state_path, clock=clock)
        self.orders = OrderBook(self.store)
        self.deliveries = Deliverer(self.site_url, delivery_transport)
        self.requests_per_second = requests_per_second
        self._window, self._window_count = 0, 0
        self.throttle_left, self._throttle_retry_after = 0, 1.0

    # ---- seeding ------------------------------------------------------------------------------

    @staticmethod
    def demo_products(skus: Sequence[str], *, stock: int = 25) -> list[dict[str, Any]]:
        """Our SKUs as a WooCommerce catalogue: SKUs sharing a stem (`TSHIRT-S`, `TSHIRT-M`)
        become variations of one variable product, the rest simple products; the first
        variable product gets one more variation without a SKU (WooCommerce allows it)."""
        stems: dict[str, list[str]] = {}
        for sku in skus:
            stems.setdefault(sku.rsplit("-", 1)[0] if "-" in sku else sku, []).append(sku)
        seeds: list[dict[str, Any]] = []
        skuless_added = False
        for stem, members in stems.items():
            if len(members) < 2:
                seeds.extend({"sku": sku, "stock": stock} for sku in members)
                continue
            for sku in members:
                option = sku.rsplit("-", 1)[1]
                seeds.append({"sku": sku, "variable_of": stem, "options": {"Option": option}})
                seeds[-1]["stock"] = stock
            if not skuless_added:
                seeds.append(
                    {"sku": "", "variable_of": stem, "options": {"Option": "Gift"}, "stock": stock}
                )
                skuless_added = True
        if not skuless_added:  # no SKUs share a stem: a variable product of its own
            seeds.append(
                {"sku": "", "variable_of": "Sampler", "options": {"Option": "Gift"}, "stock": stock}
            )
        return seeds

    def seed(self, products: Sequence[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add products: a string is a simple product with that SKU; a mapping may name
        `sku`, `name`, `price`, `stock`, and `variable_of` (a variable product's name, made on
        first use) with `options` to make it a variation. Returns the listings, in order.

        Safe to repeat (a restarted demo on its state file): an item that exists already (same
        SKU, or for a SKU-less variation the same options) is returned, not made again."""
        state = self.store.state
        parents = {p["name"]: p for p in state.products.values() if p["type"] == "variable"}
        made: list[dict[str, Any]] = []
        for entry in products:
            spec: Mapping[str, Any] = {"sku": entry} if isinstance(entry, str) else entry
            sku, price = str(spec.get("sku") or ""), str(spec.get("price") or "10.00")
            stock, parent_name = spec.get("stock"), spec.get("variable_of")
            if parent_name:
                parent = parents.get(str(parent_name))
                if parent is None:
                    parent = self.store.add_product(str(parent_name), kind="variable")
                    parents[str(parent_name)] = parent
                options = {str(k): str(v) for k, v in (spec.get("options") or {}).items()}
                options = options or {"Option": sku or "Default"}
                attributes = [{"id": 0, "name": k, "option": v} for k, v in options.items()]
                doc = next(
                    (
                        state.variations[v]
                        for v in parent["variations"]
                        if (sku and state.variations[v]["sku"] == sku)
                        or (not sku and state.variations[v]["attributes"] == attributes)
                    ),
                    None,
                ) or self.store.add_variation(
                    parent["id"], options, sku=sku, price=price, stock=stock
                )
                made.append(_made(doc, parent["id"]))
            else:
                existing = next(
                    (p for p in state.products.values() if sku and p["sku"] == sku), None
                )
                name = str(spec.get("name") or sku or "Product")
                doc = existing or self.store.add_product(name, sku=sku, price=price, stock=stock)
                made.append(_made(doc, None))
        self.store.save()
        return made

    # ---- what happens at the shop -------------------------------------------------------------

    def place_order(
        self,
        lines: Sequence[Mapping[str, Any]],
        *,
        status: str = "processing",
        billing: Mapping[str, Any] | None = None,
        shipping: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A customer checks out; `order.created` is delivered (call it in the event loop)."""
        order = self.orders.create_order(lines, status=status, billing=billing, shipping=shipping)
        self._deliver("order.created", order)
        self.store.save()
        return order

    def change_status(self, order_id: int, status: str) -> dict[str, Any]:
        """The shop moves an order (paid, cancelled, ...); `order.updated` is delivered."""
        order = self.orders.order(order_id)
        if self.orders.set_status(order, status):
            self._deliver("order.updated", order)
        self.store.save()
        return order

    def update_order(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """`PUT /orders/{id}`: status and address fields."""
        order = self.store.state.orders.get(order_id)
        if order is None:
            raise WooError(400, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        changed = False
        for key in ("billing", "shipping"):
            if isinstance(body.get(key), Mapping):
                order[key] = {**order[key], **body[key]}
                changed = True
        if "customer_note" in body:
            order["customer_note"], changed = str(body["customer_note"]), True
        if "status" in body:
            changed = self.orders.set_status(order, str(body["status"])) or changed
        if changed:
            self._deliver("order.updated", order)
        self.store.save()
        return order

    def refund(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /orders/{id}/refunds`; the order is saved with it, so `order.updated` goes out."""
        refund = self.orders.create_refund(order_id, body)
        self._deliver("order.updated", self.orders.order(order_id))
        self.store.save()
        return refund

    def trash_order(self, order_id: int, *, force: bool = False) -> dict[str, Any]:
        """`DELETE /orders/{id}`: to the trash (or gone with `force`); `order.deleted`."""
        order = self.orders.order(order_id)
        if force:
            del self.store.state.orders[order_id]
        elif order["status"] == "trash":
            raise WooError(
                410, "woocommerce_rest_already_trashed", "The order has already been deleted."
            )
        else:
            self.orders.set_status(order, "trash")
        self._deliver("order.deleted", {"id": order_id})
        self.store.save()
        return order

    def _deliver(self, topic: str, doc: Mapping[str, Any]) -> None:
        for hook in self.store.hooks_for(topic):
            self.deliveries.send(hook, copy.deepcopy(dict(doc)))

    async def drain(self) -> None:
        """Wait until every webhook delivery under way has finished."""
        await self.deliveries.drain()

    # ---- the gate: authentication and rate limit ----------------------------------------------

    def throttle(self, requests: int, retry_after_s: float = 1.0) -> None:
        """Answer the next `requests` API calls with 429 (tests, and the demo's bad day)."""
        self.throttle_left, self._throttle_retry_after = requests, retry_after_s

    def admit(self) -> float | None:
        """None to serve the request, else the `Retry-After` seconds of a 429."""
        if self.throttle_left > 0:
            self.throttle_left -= 1
            return self._throttle_retry_after
        if self.requests_per_second is None:
            return None
        now = time.monotonic()
        window = math.floor(now)
        if window != self._window:
            self._window, self._window_count = window, 0
        self._window_count += 1
        if self._window_count > self.requests_per_second:
            return max(1.0, math.ceil(window + 1 - now))
        return None

    def authenticate(
        self, method: str, authorization: str | None, query: Mapping[str, str]
    ) -> None:
        """Basic auth or query-string keys, as WooCommerce accepts over HTTPS."""
        key, secret = query.get("consumer_key"), query.get("consumer_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            key, _, secret = decoded.partition(":")
        if not key:
            code, what = {
                "GET": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
                "POST": (
                    "woocommerce_rest_cannot_create",
                    "Sorry, you are not allowed to create resources.",
                ),
            }.get(
                method,
                (
                    "woocommerce_rest_cannot_edit",
                    "Sorry, you are not allowed to edit this resource.",
                ),
            )
            raise WooError(401, code, what)
        if not hmac.compare_digest(key, self.consumer_key):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not hmac.compare_digest(secret or "", self.consumer_secret):
            raise WooError(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )

    # ---- what tests and the demo read ---------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Stock per product and variation, orders with statuses and notes, webhooks, deliveries."""
        state = self.store.state
        items = [*state.products.values(), *state.variations.values()]
        return {
            "site_url": self.site_url,
            "products": [
                {
                    "id": p["id"],
                    "type": p.get("type", "variation"),
                    "parent_id": p.get("parent_id") or None,
                    "sku": p["sku"],
                    "name": p["name"],
                    "manage_stock": p["manage_stock"],
                    "stock_quantity": p["stock_quantity"],
                }
                for p in sorted(items, key=lambda p: p["id"])
            ],
            "orders": [
                {
                    "id": o["id"],
                    "status": o["status"],
                    "date_modified_gmt": o["date_modified_gmt"],
                    "notes": [
                        {"id": n["id"], "note": n["note"], "customer_note": n["customer_note"]}
                        for n in state.notes.get(o["id"], [])
                    ],
                    "refunds": [
                        {
                            "id": r["id"],
                            "amount": r["amount"],
                            "reason": r["reason"],
                            "refunded_payment": r["refunded_payment"],
                            "lines": {
                                int(m["value"]): -i["quantity"]
                                for i in r["line_items"]
                                for m in i["meta_data"]
                                if m["key"] == "_refunded_item_id"
                            },
                        }
                        for r in state.refunds.get(o["id"], [])
                    ],
                }
                for o in state.orders.values()
            ],
            "webhooks": [
                {**public_webhook(h), "failure_count": h.get("failure_count", 0)}
                for h in state.webhooks.values()
            ],
            "deliveries": [vars(r).copy() for r in self.deliveries.records],
        }


def _made(doc: Mapping[str, Any], parent_id: int | None) -> dict[str, Any]:
    return {
        "listing_id": doc["id"],
        "parent_id": parent_id,
        "sku": doc["sku"],
        "title": doc["name"],
    }


from sandbox.woocommerce_routes import create_app, serve  # noqa: E402  (needs WooShop)

__all__ = ["WooError", "WooShop", "create_app", "serve"]
