"""The sandbox WooCommerce site's orders: checkout, status changes with their stock effects,
order notes, refunds. Documents have the shape of the REST API docs' examples (order, refund)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.woocommerce_state import (
    DEFAULT_ADDRESS,
    ORDER_STATUSES,
    STOCK_REDUCED,
    WooError,
    WooStore,
    money,
)

# Core's gateways that do not declare `refunds` support: `wc_refund_payment` refuses a refund
# through them ("The payment gateway for this order does not support automatic refunds.").
NO_API_REFUNDS = frozenset({"bacs", "cheque", "cod"})
REFUND_REFUSED = "woocommerce_rest_cannot_create_order_refund"


class OrderBook:
    """Orders and their notes, kept in the store's state."""

    def __init__(self, store: WooStore) -> None:
        self.store = store

    def item_for_line(
        self, line: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(product, variation) that an order line names: by sku or by ids."""
        if line.get("variation_id"):
            variation = self.store.state.variations.get(int(line["variation_id"]))
            if variation is None:
                raise WooError(
                    400, "woocommerce_rest_invalid_variation_id", "Invalid variation ID."
                )
            return self.store.product(variation["parent_id"]), variation
        if line.get("product_id"):
            return self.store.product(int(line["product_id"])), None
        sku = str(line.get("sku") or "")
        for variation in self.store.state.variations.values():
            if sku and variation["sku"] == sku:
                return self.store.product(variation["parent_id"]), variation
        for product in self.store.state.products.values():
            if sku and product["sku"] == sku and product["type"] != "variable":
                return product, None
        raise WooError(400, "woocommerce_rest_invalid_product_id", f"No product with SKU {sku!r}.")

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
        oid = self.store.next_id()
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
                    "id": self.store.next_id(),
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
                    "id": self.store.next_id(),
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
            "_links": self.store.links(f"orders/{oid}", "orders"),
        }
        self.store.stamp(order, "date_created", "date_modified")
        self.store.state.orders[oid] = order
        self.store.state.notes[oid] = []
        self.set_status(order, status)
        return order

    def order(self, order_id: int) -> dict[str, Any]:
        """An order by id, or WooCommerce's 404."""
        doc = self.store.state.orders.get(order_id)
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
            self.store.stamp(order, "date_paid")
        if status == "completed":
            self.store.stamp(order, "date_completed")
        self.store.stamp(order, "date_modified")
        if before != "checkout-draft":
            self.add_note(order["id"], f"Order status changed from {before} to {status}.")
        return True

    def _move_stock(self, order: dict[str, Any], sign: int) -> None:
        for line in order["line_items"]:
            state = self.store.state
            item = state.variations.get(line["variation_id"]) or state.products.get(
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
        nid = self.store.next_id()
        note = {
            "id": nid,
            "author": author,
            "note": text,
            "customer_note": customer_note,
            "_links": self.store.links(
                f"orders/{order_id}/notes/{nid}", f"orders/{order_id}/notes"
            ),
        }
        self.store.stamp(note, "date_created")
        # Newest first, as WooCommerce lists them.
        self.store.state.notes.setdefault(order_id, []).insert(0, note)
        return note

    # ---- refunds ------------------------------------------------------------------------------

    def refunds(self, order_id: int) -> list[dict[str, Any]]:
        """An order's refunds, newest first."""
        self.order(order_id)
        return self.store.state.refunds.get(order_id, [])

    def create_refund(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /orders/{id}/refunds` as core makes it (`RestApiUtil::
        adjust_create_refund_request_parameters`, then `wc_create_refund`): `line_items` as a
        list of `{id, quantity, refund_total, refund_tax}`; `amount`, when absent, the sum of
        the line items' refund totals; `api_refund` and `api_restock` default to true.

        Refused as core refuses: a negative amount (400), more than is left to refund or a
        gateway that cannot refund (500, `woocommerce_rest_cannot_create_order_refund`, and
        nothing is kept). Quantities are not checked (core does not). A refund's line items
        are negative copies of the order's, naming theirs in `_refunded_item_id`.
        """
        order = self.store.state.orders.get(order_id)
        if order is None:
            raise WooError(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
        api_refund = body.get("api_refund")
        api_restock = body.get("api_restock")
        requested = _refund_lines(body.get("line_items"))
        amount = _refund_amount(body.get("amount"), requested)
        if amount < 0:
            raise WooError(
                400,
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
            )
        refunds = self.store.state.refunds.setdefault(order_id, [])
        remaining = Decimal(order["total"]) - sum(
            (Decimal(r["amount"]) for r in refunds), Decimal(0)
        )
        if amount > remaining:
            raise WooError(500, REFUND_REFUSED, "Invalid refund amount.")
        items, units = [], 0
        for line in order["line_items"]:
            spec = requested.get(line["id"])
            if spec is None or not (spec["qty"] or spec["total"] or spec["taxes"]):
                continue
            items.append(self._refund_item(line, spec))
            units += spec["qty"]
        refund_payment = api_refund if isinstance(api_refund, bool) else True
        if refund_payment and order["payment_method"] in NO_API_REFUNDS:
            raise WooError(
                500,
                REFUND_REFUSED,
                "The payment gateway for this order does not support automatic refunds.",
            )
        rid = self.store.next_id()
        reason = str(body.get("reason") or "")
        refund: dict[str, Any] = {
            "id": rid,
            "amount": money(amount),
            "reason": reason,
            "refunded_by": 1,
            "refunded_payment": refund_payment,
            "meta_data": [],
            "line_items": items,
            "shipping_lines": [],
            "tax_lines": [],
            "fee_lines": [],
            "_links": {
                **self.store.links(
                    f"orders/{order_id}/refunds/{rid}", f"orders/{order_id}/refunds"
                ),
                "up": [{"href": f"{self.store.site_url}/wp-json/wc/v3/orders/{order_id}"}],
            },
        }
        self.store.stamp(refund, "date_created")
        refunds.insert(0, refund)
        order["refunds"].insert(0, {"id": rid, "refund": reason, "total": f"-{money(amount)}"})
        if api_restock if isinstance(api_restock, bool) else True:
            self._restock(order, requested)
        ordered = sum(line["quantity"] for line in order["line_items"])
        refunded_units = sum(-i["quantity"] for r in refunds for i in r["line_items"])
        free_item = any(Decimal(line["total"]) == 0 for line in order["line_items"])
        partial = remaining - amount > 0 or (
            bool(requested) and free_item and ordered - refunded_units > 0
        )
        if not partial:
            self.set_status(order, "refunded")
        self.store.stamp(order, "date_modified")
        return refund

    def _refund_item(self, line: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        total = Decimal(str(spec["total"]))
        tax = sum((Decimal(str(t)) for t in spec["taxes"].values()), Decimal(0))
        return {
            "id": self.store.next_id(),
            "name": line["name"],
            "product_id": line["product_id"],
            "variation_id": line["variation_id"],
            "quantity": -spec["qty"],
            "tax_class": line["tax_class"],
            "subtotal": _negative(total),
            "subtotal_tax": _negative(tax),
            "total": _negative(total),
            "total_tax": _negative(tax),
            "taxes": [],
            "meta_data": [
                {"id": self.store.next_id(), "key": "_refunded_item_id", "value": str(line["id"])}
            ],
            "sku": line["sku"],
            # Core divides the total by max(1, quantity): a refund's quantity is negative.
            "price": float(-total),
        }

    def _restock(self, order: dict[str, Any], requested: Mapping[int, dict[str, Any]]) -> None:
        """`wc_restock_refunded_items`: refunded units back on the shelf, when the order's stock
        was reduced and the item manages stock."""
        if not any(m["key"] == "_order_stock_reduced" for m in order["meta_data"]):
            return
        state = self.store.state
        for line in order["line_items"]:
            qty = (requested.get(line["id"]) or {}).get("qty") or 0
            item = state.variations.get(line["variation_id"]) or state.products.get(
                line["product_id"]
            )
            if not qty or item is None or not item.get("manage_stock"):
                continue
            before = item.get("stock_quantity") or 0
            item["stock_quantity"] = before + qty
            self.add_note(
                order["id"], f"Item #{item['id']} stock increased from {before} to {before + qty}."
            )


def _refund_lines(raw: Any) -> dict[int, dict[str, Any]]:
    """`line_items` of a refund request by item id: `qty`, `total` (None if not numeric),
    `taxes` (tax rate id -> amount), as core converts them."""
    if not isinstance(raw, list):
        return {}
    lines: dict[int, dict[str, Any]] = {}
    for entry in raw:
        if not isinstance(entry, Mapping) or "id" not in entry:
            continue
        try:
            item_id = int(entry["id"])
            qty = int(entry.get("quantity") or entry.get("qty") or 0)
        except (TypeError, ValueError):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): line_items") from None
        taxes = {
            int(t["id"]): t["refund_total"]
            for t in entry.get("refund_tax") or []
            if isinstance(t, Mapping) and "id" in t and "refund_total" in t
        }
        lines[item_id] = {"qty": qty, "total": _number(entry.get("refund_total")), "taxes": taxes}
    return lines


def _refund_amount(raw: Any, lines: Mapping[int, dict[str, Any]]) -> Decimal:
    """The `amount` given; else the line items' refund totals and taxes when each is a
    number; else 0 (`wc_create_refund`'s default)."""
    if raw is not None and raw != "":
        amount = _number(raw)
        if amount is None:
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): amount")
        return amount
    parts = [spec["total"] for spec in lines.values()]
    parts += [_number(t) for spec in lines.values() for t in spec["taxes"].values()]
    numbers = [x for x in parts if x is not None]
    return sum(numbers, Decimal(0)) if lines and len(numbers) == len(parts) else Decimal(0)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _negative(amount: Decimal) -> str:
    return money(-amount) if amount else "0.00"
