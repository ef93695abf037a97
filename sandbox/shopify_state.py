"""The sandbox Shopify shop's state: catalogue, locations, stock, orders, fulfilments, order
edits, hooks.

Ids are deterministic (one counter per shop), so a seeded shop always has the same ids; the
whole state is plain JSON and can be persisted to `state_path` so a demo restart keeps it.
Orders are rendered (`shopify_render.py`) two ways: as the REST/webhook `Order` JSON (what
deliveries carry) and as the GraphQL Admin `Order` node (what the Admin API answers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox import shopify_render as render
from sandbox.clock import Clock, utc_now
from sandbox.shopify_render import money_text as _money

DOMAIN = "oms-sandbox.myshopify.com"
# Shopify's REST financial statuses (`displayFinancialStatus` is the same, upper-cased).
FINANCIAL = (
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
    "expired",
)


class ShopError(Exception):
    """A request the shop refuses: becomes a Shopify `userErrors` entry."""

    def __init__(self, field: Sequence[str], message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.field, self.message, self.code = list(field), message, code


def id_of(value: Any, kind: str) -> int:
    """The numeric id in a GID (or a bare number) of the given kind; `ShopError` otherwise."""
    text = str(value or "")
    if text.startswith("gid://"):
        parts = text.split("/")
        if len(parts) != 5 or parts[3] != kind:
            raise ShopError(["id"], f"Invalid global id '{text}'", "INVALID")
        text = parts[4]
    if not text.isdigit():
        raise ShopError(["id"], f"Invalid id '{value}'", "INVALID")
    return int(text)


class ShopifyShop:
    """One sandbox shop. Mutating methods save the state when `state_path` is set."""

    def __init__(
        self,
        *,
        domain: str = DOMAIN,
        webhook_secret: str = "",
        access_token: str = "shpat_sandbox",
        state_path: str | Path | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.domain, self.webhook_secret, self.access_token = domain, webhook_secret, access_token
        self.state_path = Path(state_path) if state_path else None
        self.clock = clock
        self.state: dict[str, Any] = {
            "next_id": 1000,
            "products": {},
            "variants": {},
            "locations": {},
            "levels": {},
            "orders": {},
            "webhooks": {},
            "idempotency": {},
            "order_edits": {},
            "deliveries": [],
        }
        if self.state_path and self.state_path.exists():
            self.state = json.loads(self.state_path.read_text())
        # Called with (topic, REST order JSON) after a change a webhook would announce.
        self.on_event: Callable[[str, dict[str, Any]], None] = lambda topic, doc: None

    # ---- persistence and ids ----------------------------------------------------------------

    def save(self) -> None:
        """Write the state to `state_path` (when set)."""
        if self.state_path:
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
            tmp.replace(self.state_path)

    def _id(self) -> int:
        self.state["next_id"] += 1
        return int(self.state["next_id"])

    def now(self) -> str:
        """The shop's clock as Shopify writes it (`2026-12-02T10:00:00Z`)."""
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")

    # ---- catalogue ---------------------------------------------------------------------------

    def seed(
        self, products: Sequence[dict[str, Any]], locations: Sequence[str | dict[str, Any]] = ()
    ) -> ShopifyShop:
        """Add products (`{sku, title, price, barcode?, available?}`, one variant each) and
        locations (names; two by default); every variant stocked at every location."""
        if not self.state["locations"] or locations:
            for loc in locations or ("Shop warehouse", "Shop store"):
                name = loc if isinstance(loc, str) else str(loc["name"])
                ref = self._id()
                self.state["locations"][str(ref)] = {"id": ref, "name": name}
        for product in products:
            pid, vid, item = self._id(), self._id(), self._id()
            title = str(product.get("title") or product["sku"])
            self.state["products"][str(pid)] = {"id": pid, "title": title}
            self.state["variants"][str(vid)] = {
                "id": vid,
                "product_id": pid,
                "sku": product.get("sku"),
                "title": "Default Title",
                "product_title": title,
                "price": _money(product.get("price", "0")),
                "barcode": product.get("barcode"),
                "inventory_item_id": item,
            }
            for loc in self.state["locations"]:
                self.state["levels"][f"{item}:{loc}"] = int(product.get("available", 0))
        self.save()
        return self

    def variant(self, *, sku: str | None = None, variant_id: int | None = None) -> dict[str, Any]:
        """A variant by id or SKU; `ShopError` when there is none."""
        for v in self.state["variants"].values():
            if (variant_id is not None and v["id"] == int(variant_id)) or (
                variant_id is None and sku is not None and v["sku"] == sku
            ):
                return v  # type: ignore[no-any-return]
        raise ShopError(["variant"], f"no variant {variant_id or sku!r}", "NOT_FOUND")

    def level(self, inventory_item_id: int, location_id: int) -> int | None:
        """`available` of an item at a location (None: not stocked there)."""
        value = self.state["levels"].get(f"{inventory_item_id}:{location_id}")
        return None if value is None else int(value)

    def set_level(self, inventory_item_id: int, location_id: int, available: int) -> int:
        """Set `available`; returns the delta."""
        if str(location_id) not in self.state["locations"]:
            raise ShopError(
                ["locationId"], "The specified location could not be found.", "INVALID_LOCATION"
            )
        if not any(
            v["inventory_item_id"] == inventory_item_id for v in self.state["variants"].values()
        ):
            raise ShopError(
                ["inventoryItemId"],
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            )
        key = f"{inventory_item_id}:{location_id}"
        before = int(self.state["levels"].get(key, 0))
        self.state["levels"][key] = available
        return available - before

    # ---- orders --------------------------------------------------------------------------------

    def place_order(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Create an order from `{lines:[{sku|variant_id, quantity, price?}], financial_status,
        email, customer, shipping_address, shipping}`; announces `orders/create`."""
        status = str(spec.get("financial_status") or "paid")
        if status not in FINANCIAL:
            raise ShopError(["financial_status"], f"{status!r} is not a financial status")
        lines, stamp = [], self.now()
        for raw in spec.get("lines") or []:
            variant = self.variant(sku=raw.get("sku"), variant_id=raw.get("variant_id"))
            lines.append(
                {
                    "id": self._id(),
                    "variant_id": variant["id"],
                    "product_id": variant["product_id"],
                    "title": variant["product_title"],
                    "sku": variant["sku"],
                    "quantity": int(raw.get("quantity") or 1),
                    "current_quantity": int(raw.get("quantity") or 1),
                    "price": _money(raw.get("price") or variant["price"]),
                }
            )
        if not lines:
            raise ShopError(["lines"], "an order needs at least one line")
        oid = self._id()
        location = int(next(iter(self.state["locations"])))
        order = {
            "id": oid,
            "number": len(self.state["orders"]) + 1,
            "email": spec.get("email") or "buyer@example.com",
            "phone": spec.get("phone"),
            "created_at": stamp,
            "updated_at": stamp,
            "currency": spec.get("currency") or "USD",
            "financial_status": status,
            "cancelled_at": None,
            "cancel_reason": None,
            "note": spec.get("note"),
            "total_tax": _money(spec.get("total_tax") or "0"),
            "customer": spec.get("customer") or {"first_name": "Ann", "last_name": "Lee"},
            "shipping_address": spec.get("shipping_address")
            or {
                "first_name": "Ann",
                "last_name": "Lee",
                "name": "Ann Lee",
                "address1": "1 Main St",
                "city": "Austin",
                "province_code": "TX",
                "zip": "78701",
                "country_code": "US",
            },
            "shipping_lines": [
                {"id": self._id(), "title": "Standard", "code": "Standard", "price": "0.00"}
                | (spec.get("shipping") or {})
            ],
            "line_items": lines,
            "fulfillment_orders": [
                {
                    "id": self._id(),
                    "status": "OPEN",
                    "location_id": location,
                    "line_items": [
                        {"id": self._id(), "line_item_id": li["id"], "remaining": li["quantity"]}
                        for li in lines
                    ],
                }
            ],
            "fulfillments": [],
        }
        self.state["orders"][str(oid)] = order
        self.save()
        self.on_event("orders/create", self.rest_order(order))
        return order

    def order(self, ref: Any) -> dict[str, Any]:
        """An order by id or GID; `ShopError` when unknown."""
        order = self.state["orders"].get(str(id_of(ref, "Order")))
        if order is None:
            raise ShopError(["id"], "Order does not exist", "NOT_FOUND")
        return order  # type: ignore[no-any-return]

    def mark_paid(self, ref: Any) -> dict[str, Any]:
        """The buyer paid (`pending` -> `paid`); announces `orders/paid` and `orders/updated`."""
        order = self.order(ref)
        order["financial_status"], order["updated_at"] = "paid", self.now()
        self.save()
        self.on_event("orders/paid", self.rest_order(order))
        self.on_event("orders/updated", self.rest_order(order))
        return order

    def cancel(
        self, ref: Any, reason: str = "other", staff_note: str | None = None
    ) -> dict[str, Any]:
        """Cancel (a second cancel is refused as Shopify does); announces `orders/cancelled`."""
        order = self.order(ref)
        if order["cancelled_at"]:
            raise ShopError(["orderId"], "Order has already been cancelled", "INVALID")
        order["cancelled_at"] = order["updated_at"] = self.now()
        order["cancel_reason"] = reason.lower()
        order["staff_note"] = staff_note
        if order["financial_status"] in ("paid", "partially_paid"):
            order["financial_status"] = "refunded"
        elif order["financial_status"] in ("authorized", "pending"):
            order["financial_status"] = "voided"
        for fo in order["fulfillment_orders"]:
            if fo["status"] in ("OPEN", "IN_PROGRESS"):
                fo["status"] = "CLOSED"
        self.save()
        self.on_event("orders/cancelled", self.rest_order(order))
        self.on_event("orders/updated", self.rest_order(order))
        return order

    def set_note(self, ref: Any, note: str) -> dict[str, Any]:
        """Replace the order's note."""
        order = self.order(ref)
        order["note"], order["updated_at"] = note, self.now()
        self.save()
        return order

    def fulfil(
        self, groups: Sequence[dict[str, Any]], tracking: dict[str, Any], notify: bool
    ) -> dict[str, Any]:
        """`fulfillmentCreate`: fulfil (parts of) fulfillment orders of one order."""
        if not groups:
            raise ShopError(["fulfillment", "lineItemsByFulfillmentOrder"], "can't be blank")
        found = [self._fulfillment_order(g.get("fulfillmentOrderId")) for g in groups]
        order = found[0][0]
        if any(o["id"] != order["id"] for o, _ in found):
            raise ShopError(
                ["fulfillment", "lineItemsByFulfillmentOrder"],
                "All fulfillment orders must belong to the same order.",
            )
        taken: list[dict[str, Any]] = []
        for (_, fo), group in zip(found, groups, strict=True):
            if fo["status"] not in ("OPEN", "IN_PROGRESS"):
                raise ShopError(
                    ["fulfillment", "lineItemsByFulfillmentOrder"],
                    f"Fulfillment order {fo['id']} has an unfulfillable status= "
                    f"{fo['status'].lower()}.",
                )
            asked = group.get("fulfillmentOrderLineItems")
            picks = (
                [(id_of(a["id"], "FulfillmentOrderLineItem"), int(a["quantity"])) for a in asked]
                if asked
                else [(li["id"], li["remaining"]) for li in fo["line_items"] if li["remaining"] > 0]
            )
            for item_id, qty in picks:
                item = next((li for li in fo["line_items"] if li["id"] == item_id), None)
                if item is None or qty <= 0 or qty > item["remaining"]:
                    raise ShopError(
                        ["fulfillment", "lineItemsByFulfillmentOrder"],
                        f"Invalid fulfillment order line item quantity requested for {item_id}.",
                    )
                item["remaining"] -= qty
                taken.append({"line_item_id": item["line_item_id"], "quantity": qty})
            if all(li["remaining"] == 0 for li in fo["line_items"]):
                fo["status"] = "CLOSED"
            else:
                fo["status"] = "IN_PROGRESS"
        fulfillment = {
            "id": self._id(),
            "status": "SUCCESS",
            "created_at": self.now(),
            "tracking": [{k: tracking.get(k) for k in ("company", "number", "url")}]
            if tracking
            else [],
            "line_items": taken,
            "notify_customer": notify,
        }
        order["fulfillments"].append(fulfillment)
        order["updated_at"] = self.now()
        self.save()
        self.on_event("orders/updated", self.rest_order(order))
        return fulfillment

    def _fulfillment_order(self, ref: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        fo_id = id_of(ref, "FulfillmentOrder")
        for order in self.state["orders"].values():
            for fo in order["fulfillment_orders"]:
                if fo["id"] == fo_id:
                    return order, fo
        raise ShopError(
            ["fulfillment", "lineItemsByFulfillmentOrder"], "Fulfillment order does not exist."
        )

    # ---- order editing -------------------------------------------------------------------------
    #
    # `orderEditBegin` opens a session (a `CalculatedOrder`) on which quantity changes are staged;
    # `orderEditCommit` applies them to the order and closes the session (a committed calculated
    # order is no longer returned, as from 2026-01). Only unfulfilled units can be edited. An
    # order's `quantity` stays what was bought; `current_quantity` is what is left after edits.

    def begin_edit(self, ref: Any) -> dict[str, Any]:
        """A new edit session on an open order."""
        order = self.order(ref)
        if order["cancelled_at"]:
            raise ShopError(["id"], "A cancelled order can't be edited.", "INVALID")
        session = {"id": self._id(), "order_id": order["id"], "staged": {}, "status": "OPEN"}
        self._edits()[str(session["id"])] = session
        self.save()
        return session

    def edit_session(self, ref: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(session, order) of an open edit session, by `CalculatedOrder` id."""
        session = self._edits().get(str(id_of(ref, "CalculatedOrder")))
        if session is None or session["status"] != "OPEN":
            raise ShopError(["id"], "The calculated order does not exist.", "NOT_FOUND")
        return session, self.order(session["order_id"])

    def stage_quantity(
        self, ref: Any, line_ref: Any, quantity: int, restock: bool
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Stage a line item's new quantity; (session, order, line item)."""
        session, order = self.edit_session(ref)
        try:
            line_id = id_of(line_ref, "CalculatedLineItem")
        except ShopError:
            raise ShopError(["lineItemId"], f"Invalid global id '{line_ref}'", "INVALID") from None
        line = next((li for li in order["line_items"] if li["id"] == line_id), None)
        if line is None:
            raise ShopError(
                ["lineItemId"], "The line item does not exist on the calculated order.", "INVALID"
            )
        if quantity < 0:
            raise ShopError(["quantity"], "Quantity must be greater than or equal to 0.", "INVALID")
        fulfilled = self.fulfilled_units(order, line_id)
        if quantity < fulfilled:
            raise ShopError(
                ["quantity"],
                f"Quantity can't be less than the fulfilled quantity ({fulfilled}).",
                "INVALID",
            )
        session["staged"][str(line_id)] = {"quantity": quantity, "restock": restock}
        self.save()
        return session, order, line

    def commit_edit(
        self, ref: Any, notify_customer: bool, staff_note: str | None
    ) -> dict[str, Any]:
        """Apply the staged quantities: fulfillment orders lose (or gain) the units, removed
        units are restocked at their location when asked; announces `orders/edited` and
        `orders/updated`."""
        session, order = self.edit_session(ref)
        changes = []
        for key, change in session["staged"].items():
            line = next(li for li in order["line_items"] if li["id"] == int(key))
            delta = change["quantity"] - line.get("current_quantity", line["quantity"])
            if delta == 0:
                continue
            line["current_quantity"] = change["quantity"]
            self._move_open_units(order, line["id"], delta, restock=change["restock"])
            changes.append(
                {"line_item_id": line["id"], "delta": delta, "restock": change["restock"]}
            )
        session["status"] = "COMMITTED"
        order.setdefault("edits", []).append(
            {
                "id": session["id"],
                "committed_at": self.now(),
                "staff_note": staff_note,
                "notify_customer": notify_customer,
                "changes": changes,
            }
        )
        order["updated_at"] = self.now()
        self.save()
        self.on_event("orders/edited", self.rest_order(order))
        self.on_event("orders/updated", self.rest_order(order))
        return order

    def fulfilled_units(self, order: dict[str, Any], line_id: int) -> int:
        """Units of a line item in the order's fulfillments."""
        return sum(
            li["quantity"]
            for f in order["fulfillments"]
            for li in f["line_items"]
            if li["line_item_id"] == line_id
        )

    def _move_open_units(
        self, order: dict[str, Any], line_id: int, delta: int, *, restock: bool
    ) -> None:
        open_orders = [fo for fo in order["fulfillment_orders"] if fo["status"] != "CLOSED"]
        if delta > 0:
            fo = open_orders[0] if open_orders else order["fulfillment_orders"][0]
            fo["status"] = "OPEN" if fo["status"] == "CLOSED" else fo["status"]
            item = next((li for li in fo["line_items"] if li["line_item_id"] == line_id), None)
            if item is None:
                item = {"id": self._id(), "line_item_id": line_id, "remaining": 0}
                fo["line_items"].append(item)
            item["remaining"] += delta
            return
        left = -delta
        for fo in open_orders:
            for item in fo["line_items"]:
                if item["line_item_id"] != line_id or left == 0:
                    continue
                taken = min(left, item["remaining"])
                item["remaining"] -= taken
                left -= taken
                if restock and taken:
                    line = next(li for li in order["line_items"] if li["id"] == line_id)
                    variant = self.variant(variant_id=line["variant_id"])
                    location = int(fo["location_id"])
                    current = self.level(variant["inventory_item_id"], location) or 0
                    self.set_level(variant["inventory_item_id"], location, current + taken)
            if all(li["remaining"] == 0 for li in fo["line_items"]):
                fo["status"] = "CLOSED"

    def _edits(self) -> dict[str, Any]:
        # A state saved before order editing existed has no sessions yet.
        return self.state.setdefault("order_edits", {})  # type: ignore[no-any-return]

    # ---- renderings ----------------------------------------------------------------------------

    def rest_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """The REST/webhook `Order` JSON."""
        return render.rest_order(order)

    def graphql_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """The GraphQL Admin `Order` node."""
        return render.graphql_order(order)


def parse_time(value: str) -> datetime:
    """A Shopify timestamp (`Z` or an offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
