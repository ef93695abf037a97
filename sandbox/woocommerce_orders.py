"""The sandbox WooCommerce site's orders: checkout, status changes with their stock effects,
order notes. Documents have the shape of the REST API docs' example order."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sandbox.woocommerce_state import (
    DEFAULT_ADDRESS,
    ORDER_STATUSES,
    STOCK_REDUCED,
    WooError,
    WooStore,
    money,
)


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
