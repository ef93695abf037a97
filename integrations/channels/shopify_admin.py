"""`ShopClient` for Shopify on the GraphQL Admin API (`POST /admin/api/{version}/graphql.json`).

Ids: every id we keep is Shopify's numeric id as text (variant, inventory item, location,
order, line item, fulfillment), because that is what webhooks carry (`variant_id`,
`line_items[].id`): a listing from `listings()` compares equal to an order line's variant.
The client turns them into GIDs (`gid://shopify/ProductVariant/123`) when it calls, and also
accepts a GID wherever an id is taken.

Partial cancels use Shopify's order editing (`orderEditBegin` -> `orderEditSetQuantity` per line
-> `orderEditCommit`), which has no idempotency key: the order's note carries a marker with the
quantities the edit sets, written before the commit, so a retry sets the same quantities or
finds them set (see `cancel_lines`).

Throttling: HTTP 429 (with `Retry-After`) and the GraphQL `THROTTLED` error (its wait computed
from `extensions.cost.throttleStatus`) are waited out in the client a few times, at most
`max_wait_s` in all, then raised as `ShopUnavailable(retry_after_s=...)` so the activity's
retry policy takes over instead of one call sleeping for long.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from integrations.channels import shopify
from integrations.channels.base import signature_valid
from integrations.channels.shop import (
    ShopFulfilment,
    ShopListing,
    ShopLocation,
    ShopOrder,
    ShopRequestError,
    ShopStock,
    ShopUnavailable,
)

# The current stable release (Shopify versions quarterly; 2026-10 is the newest stable one
# on 2026-12; `ApiVersion.October26` in Shopify/shopify-app-js).
API_VERSION = "2026-10"
WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED")
PAGE = 100
MAX_QUANTITIES = 250  # inventorySetQuantities takes at most 250 quantities per call


# ---- the operations (GraphQL Admin API) -----------------------------------------------------

_PAGE_ARGS = "$first: Int!, $after: String"
VARIANTS = f"""query Variants({_PAGE_ARGS}) {{
  productVariants(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ id sku barcode title displayName product {{ id title }} inventoryItem {{ id }} }}
  }}
}}"""
LOCATIONS = f"""query Locations({_PAGE_ARGS}) {{
  locations(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ id name }}
  }}
}}"""
WEBHOOKS = f"""query Webhooks({_PAGE_ARGS}) {{
  webhookSubscriptions(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ id topic uri }}
  }}
}}"""
WEBHOOK_CREATE = """mutation WebhookCreate(
  $topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""
INVENTORY_SET = """mutation InventorySet(
  $input: InventorySetQuantitiesInput!, $idempotencyKey: String!
) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason changes { name delta } }
    userErrors { field message code }
  }
}"""
ORDER_STATE = """query OrderState($id: ID!) {
  order(id: $id) { id cancelledAt note }
}"""
ORDER_FULFILMENT = """query OrderFulfilment($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 50) { id status trackingInfo(first: 10) { company number url } }
    fulfillmentOrders(first: 50) {
      nodes {
        id status
        lineItems(first: 250) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}"""
FULFILMENT_CREATE = """mutation FulfilmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 10) { company number url } }
    userErrors { field message }
  }
}"""
ORDER_CANCEL = """mutation OrderCancel(
  $orderId: ID!, $reason: OrderCancelReason!, $refundMethod: OrderCancelRefundMethodInput!,
  $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String
) {
  orderCancel(
    orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock,
    notifyCustomer: $notifyCustomer, staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}"""
ORDER_UPDATE = """mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id note }
    userErrors { field message }
  }
}"""
ORDER_LINES = """query OrderLines($id: ID!) {
  order(id: $id) {
    id cancelledAt note
    lineItems(first: 250) { nodes { id title sku quantity currentQuantity } }
  }
}"""
# Order editing: a session (`CalculatedOrder`) on which changes are staged, then committed. A
# `CalculatedLineItem` of an existing line has the line item's numeric id.
ORDER_EDIT_BEGIN = """mutation OrderEditBegin($id: ID!) {
  orderEditBegin(id: $id) {
    calculatedOrder { id lineItems(first: 250) { nodes { id quantity editableQuantity } } }
    userErrors { field message }
  }
}"""
# `restock: false`: the OMS sets the shop's stock levels itself (`set_stock`).
ORDER_EDIT_SET_QUANTITY = """mutation OrderEditSetQuantity(
  $id: ID!, $lineItemId: ID!, $quantity: Int!
) {
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: false) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}"""
ORDER_EDIT_COMMIT = """mutation OrderEditCommit(
  $id: ID!, $notifyCustomer: Boolean, $staffNote: String
) {
  orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    order { id }
    userErrors { field message }
  }
}"""
_MONEY = "shopMoney { amount currencyCode }"
ORDERS = f"""query Orders({_PAGE_ARGS}, $query: String, $sortKey: OrderSortKeys) {{
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id name email phone createdAt updatedAt cancelledAt cancelReason note currencyCode
      displayFinancialStatus displayFulfillmentStatus
      totalTaxSet {{ {_MONEY} }}
      customer {{ firstName lastName email phone }}
      shippingAddress {{
        name firstName lastName address1 address2 city provinceCode zip countryCodeV2 phone
      }}
      shippingLines(first: 10) {{ nodes {{ title code originalPriceSet {{ {_MONEY} }} }} }}
      lineItems(first: 250) {{
        nodes {{
          id sku title quantity variant {{ id }}
          originalUnitPriceSet {{ {_MONEY} }}
          discountAllocations {{ allocatedAmountSet {{ {_MONEY} }} }}
        }}
      }}
    }}
  }}
}}"""


def gid(kind: str, ref: str) -> str:
    """`gid://shopify/{kind}/{id}` for a numeric id; a GID is returned as it is."""
    ref = str(ref)
    return ref if ref.startswith("gid://") else f"gid://shopify/{kind}/{ref}"


def numeric(value: str | None) -> str:
    """The numeric id of a GID (`gid://shopify/Order/123?x=1` -> `123`); text stays text."""
    if not value:
        return ""
    return str(value).rsplit("/", 1)[-1].split("?", 1)[0]


class ShopifyAdminClient:
    """One Shopify shop, through the GraphQL Admin API with an Admin API access token."""

    channel = "shopify"

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        webhook_secret: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 3,
        max_wait_s: float = 4.0,
        timeout_s: float = 15.0,
    ) -> None:
        self.api_version = api_version
        # Kept for the app's own checks; Shopify signs deliveries with the app's secret.
        self.webhook_secret = webhook_secret
        self.max_retries, self.max_wait_s = max_retries, max_wait_s
        self._path = f"/admin/api/{api_version}/graphql.json"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"X-Shopify-Access-Token": access_token, "Accept": "application/json"},
            transport=transport,
            timeout=timeout_s,
        )
        self._locations: list[ShopLocation] | None = None

    async def aclose(self) -> None:
        """Release the HTTP client."""
        await self._http.aclose()

    def webhook_valid(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when a delivery is signed with this app's secret (either header spelling)."""
        presented = shopify.header(headers, shopify.SIGNATURE_HEADERS)
        return signature_valid([self.webhook_secret], body, presented)

    # ---- transport -------------------------------------------------------------------------

    async def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one operation; its `data`, or the error the shop's answer amounts to."""
        waited, attempt = 0.0, 0
        while True:
            wait = await self._attempt(document, variables or {})
            if isinstance(wait, dict):
                return wait
            attempt += 1
            if attempt > self.max_retries or waited + wait > self.max_wait_s:
                raise ShopUnavailable(
                    "throttled", f"Shopify is throttling; retry in {wait:.1f}s", wait
                )
            await asyncio.sleep(wait)
            waited += wait

    async def _attempt(self, document: str, variables: dict[str, Any]) -> dict[str, Any] | float:
        """The `data` of one answer, or the seconds to wait before trying again."""
        try:
            response = await self._http.post(
                self._path, json={"query": document, "variables": variables}
            )
        except httpx.TransportError as err:
            raise ShopUnavailable("network", f"Shopify unreachable: {err!r}") from err
        if response.status_code == 429:
            return _retry_after(response.headers.get("Retry-After"))
        if response.status_code >= 500:
            raise ShopUnavailable(
                f"http_{response.status_code}", f"Shopify answered {response.status_code}"
            )
        body = _json(response)
        if response.status_code in (401, 403):
            raise ShopRequestError(
                "unauthorized", f"Shopify refused the access token: {_messages(body)}"
            )
        if response.status_code >= 400:
            raise ShopRequestError(f"http_{response.status_code}", _messages(body))
        errors = body.get("errors")
        if errors:
            if any(_code(e) == "THROTTLED" for e in _as_list(errors)):
                return _throttle_wait(body)
            raise ShopRequestError("graphql", _messages(body))
        data = body.get("data")
        if not isinstance(data, dict):
            raise ShopRequestError("graphql", "answer without data")
        return data

    async def _mutate(
        self, document: str, variables: dict[str, Any], root: str, errors_key: str = "userErrors"
    ) -> dict[str, Any]:
        """Run a mutation; its payload, or `ShopRequestError` naming the first userError."""
        data = await self.query(document, variables)
        payload = data.get(root) or {}
        problems = payload.get(errors_key) or payload.get("userErrors") or []
        if problems:
            first = problems[0]
            where = ".".join(first.get("field") or []) or root
            raise ShopRequestError(
                str(first.get("code") or "user_error"), f"{root}: {where}: {first.get('message')}"
            )
        return payload  # type: ignore[no-any-return]

    async def _pages(self, document: str, root: str, **variables: Any) -> list[dict[str, Any]]:
        """Every node of a connection, following `pageInfo.endCursor`."""
        nodes: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            data = await self.query(document, {**variables, "first": PAGE, "after": cursor})
            connection = data.get(root) or {}
            nodes.extend(connection.get("nodes") or [])
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return nodes
            cursor = info.get("endCursor")

    # ---- ShopClient ------------------------------------------------------------------------

    async def listings(self) -> list[ShopListing]:
        """Every product variant, with its inventory item (all pages)."""
        return [
            ShopListing(
                listing_id=numeric(v["id"]),
                inventory_item_id=numeric((v.get("inventoryItem") or {}).get("id")),
                title=v.get("displayName") or v.get("title") or "",
                sku=(v.get("sku") or "").strip() or None,
                barcode=v.get("barcode") or None,
                parent_id=numeric((v.get("product") or {}).get("id")) or None,
            )
            for v in await self._pages(VARIANTS, "productVariants")
        ]

    async def locations(self) -> list[ShopLocation]:
        """The shop's stock locations."""
        nodes = await self._pages(LOCATIONS, "locations")
        self._locations = [ShopLocation(numeric(n["id"]), n.get("name") or "") for n in nodes]
        return list(self._locations)

    async def subscribe_webhooks(self, callback_url: str) -> list[str]:
        """ORDERS_CREATE/UPDATED/PAID/CANCELLED to `callback_url`; existing ones are kept."""
        existing = await self._pages(WEBHOOKS, "webhookSubscriptions")
        have = {n.get("topic") for n in existing if n.get("uri") == callback_url}
        for topic in WEBHOOK_TOPICS:
            if topic not in have:
                await self._mutate(
                    WEBHOOK_CREATE,
                    {
                        "topic": topic,
                        "webhookSubscription": {"uri": callback_url, "format": "JSON"},
                    },
                    "webhookSubscriptionCreate",
                )
        return list(WEBHOOK_TOPICS)

    async def set_stock(self, levels: Sequence[ShopStock]) -> None:
        """Absolute `available` quantities (compare-and-swap opted out: we are the source)."""
        default_location = ""
        quantities = []
        for level in levels:
            location = level.location_ref
            if not location:
                default_location = default_location or await self._first_location()
                location = default_location
            quantities.append(
                {
                    "inventoryItemId": gid("InventoryItem", level.inventory_item_id),
                    "locationId": gid("Location", location),
                    "quantity": level.available,
                    # Explicit null: no compare-and-swap (required to be present since 2026-04).
                    "changeFromQuantity": None,
                }
            )
        for start in range(0, len(quantities), MAX_QUANTITIES):
            batch = quantities[start : start + MAX_QUANTITIES]
            await self._mutate(
                INVENTORY_SET,
                {
                    "input": {"name": "available", "reason": "correction", "quantities": batch},
                    # One key per call (its in-client retries reuse it): a later identical set
                    # must still apply, so the key is not derived from the quantities.
                    "idempotencyKey": str(uuid.uuid4()),
                },
                "inventorySetQuantities",
            )

    async def fulfil(self, fulfilment: ShopFulfilment, *, idempotency_key: str) -> str:
        """Fulfil the order's open fulfillment orders (or just `lines`) with tracking.

        Idempotent by tracking number: a fulfillment that already carries it is returned.
        """
        order = await self._order(fulfilment.order_ref, ORDER_FULFILMENT)
        for done in order.get("fulfillments") or []:
            numbers = {t.get("number") for t in done.get("trackingInfo") or []}
            if fulfilment.tracking_number in numbers:
                return numeric(done["id"])
        groups = _fulfilment_groups(order, fulfilment.lines)
        if not groups:
            raise ShopRequestError(
                "nothing_to_fulfil", f"order {fulfilment.order_ref} has nothing left to fulfil"
            )
        payload = await self._mutate(
            FULFILMENT_CREATE,
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": groups,
                    "notifyCustomer": True,
                    "trackingInfo": {
                        "company": fulfilment.carrier,
                        "number": fulfilment.tracking_number,
                        "url": fulfilment.tracking_url,
                    },
                }
            },
            "fulfillmentCreate",
        )
        return numeric((payload.get("fulfillment") or {}).get("id"))

    async def cancel(self, order_ref: str, *, reason: str, idempotency_key: str) -> None:
        """Cancel at the shop, refunding to the original payment; already cancelled is done."""
        order = await self._order(order_ref, ORDER_STATE)
        if order.get("cancelledAt"):
            return
        lowered = reason.lower()
        code = "INVENTORY" if ("stock" in lowered or "inventory" in lowered) else "OTHER"
        await self._mutate(
            ORDER_CANCEL,
            {
                "orderId": gid("Order", order_ref),
                "reason": code,
                "refundMethod": {"originalPaymentMethodsRefund": True},
                "restock": True,
                "notifyCustomer": True,
                "staffNote": reason[:255],
            },
            "orderCancel",
            errors_key="orderCancelUserErrors",
        )

    async def cancel_lines(
        self,
        order_ref: str,
        lines: Sequence[tuple[str, int]],
        *,
        reason: str,
        idempotency_key: str,
    ) -> None:
        """Take units off line items with one order edit: nothing restocked (the OMS sets the
        shop's levels), the customer not notified by Shopify (the OMS sends its own emails). A
        paid order is left owing the customer the difference, which Shopify shows as a refund
        owed: refunding it is the shop's call.

        Idempotent without a platform key: the quantities the edit sets are worked out once
        and written in the order's note with the key (`[key 123=1 456=0]`) before the commit.
        A retry that finds the marker sets those same quantities, or stops when the lines
        already have them; one that finds none starts over, as nothing was committed. A marker
        written after ours means a later cancel ran, which only starts once ours is settled
        (the order's pushes of line cancels run one after another): ours is done.
        """
        if not _wanted(lines):
            return
        order = await self._order(order_ref, ORDER_LINES)
        if order.get("cancelledAt"):
            raise ShopRequestError("order_cancelled", f"order {order_ref} is cancelled at Shopify")
        items = {numeric(n["id"]): n for n in (order.get("lineItems") or {}).get("nodes") or []}
        note = order.get("note") or ""
        targets, superseded = _recorded_targets(note, idempotency_key)
        if superseded or (
            targets is not None
            and all(
                int((items.get(ref) or {}).get("currentQuantity") or 0) == qty
                for ref, qty in targets.items()
            )
        ):
            return
        begun = await self._mutate(
            ORDER_EDIT_BEGIN, {"id": gid("Order", order_ref)}, "orderEditBegin"
        )
        calculated = begun.get("calculatedOrder") or {}
        editable = {
            numeric(n["id"]): n for n in (calculated.get("lineItems") or {}).get("nodes") or []
        }
        if targets is None:
            targets = _edit_targets(order_ref, lines, editable)
        for ref, qty in targets.items():
            item = editable.get(ref)
            if item is None:
                raise ShopRequestError(
                    "unknown_line", f"order {order_ref} has no line item {ref} to edit"
                )
            if int(item.get("quantity") or 0) != qty:
                await self._mutate(
                    ORDER_EDIT_SET_QUANTITY,
                    {"id": calculated["id"], "lineItemId": item["id"], "quantity": qty},
                    "orderEditSetQuantity",
                )
        marker = _lines_marker(idempotency_key, targets)
        if marker not in note:
            taken = ", ".join(
                f"{units} x {(items.get(ref) or {}).get('title') or ref}"
                for ref, units in _wanted(lines).items()
            )
            text = f"Cancelled by the OMS: {taken} ({reason}) {marker}"
            await self._mutate(
                ORDER_UPDATE,
                {"input": {"id": gid("Order", order_ref), "note": f"{note}\n{text}".strip()}},
                "orderUpdate",
            )
        await self._mutate(
            ORDER_EDIT_COMMIT,
            {
                "id": calculated["id"],
                "notifyCustomer": False,
                "staffNote": f"{reason} {marker}"[:255],
            },
            "orderEditCommit",
        )

    async def note(self, order_ref: str, text: str, *, idempotency_key: str) -> None:
        """Append `text` to the order's note, unless the note already holds it."""
        order = await self._order(order_ref, ORDER_STATE)
        current = order.get("note") or ""
        if text in current:
            return
        await self._mutate(
            ORDER_UPDATE,
            {"input": {"id": gid("Order", order_ref), "note": f"{current}\n{text}".strip()}},
            "orderUpdate",
        )

    async def orders_since(self, since: datetime) -> list[ShopOrder]:
        """Orders updated at or after `since`, oldest first, in their webhook's JSON shape."""
        since = since if since.tzinfo else since.replace(tzinfo=UTC)  # naive means UTC
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        nodes = await self._pages(
            ORDERS, "orders", query=f"updated_at:>='{stamp}'", sortKey="UPDATED_AT"
        )
        pulled = []
        for node in nodes:
            doc = rest_order(node)
            pulled.append(ShopOrder(str(doc["id"]), str(node.get("updatedAt")), topic_of(doc), doc))
        return pulled

    # ---- helpers ---------------------------------------------------------------------------

    async def _order(self, order_ref: str, document: str) -> dict[str, Any]:
        data = await self.query(document, {"id": gid("Order", order_ref)})
        order = data.get("order")
        if not isinstance(order, dict):
            raise ShopRequestError("not_found", f"order {order_ref}: no such order at Shopify")
        return order

    async def _first_location(self) -> str:
        locations = self._locations if self._locations is not None else await self.locations()
        if not locations:
            raise ShopRequestError("no_location", "the shop has no location to set stock at")
        return locations[0].location_ref


# ---- GraphQL order -> the REST/webhook order `shopify.to_canonical` reads -----------------------


def topic_of(doc: dict[str, Any]) -> str:
    """The webhook topic this state of the order is delivered under."""
    if doc.get("cancelled_at"):
        return "orders/cancelled"
    if doc.get("financial_status") == "paid":
        return "orders/paid"
    return "orders/updated"


def _money(node: Any) -> str:
    return str(((node or {}).get("shopMoney") or {}).get("amount") or "0.00")


_FULFILMENT_STATUS = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}


def rest_order(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL `Order` (the fields of `ORDERS`) as the REST/webhook `Order` JSON."""
    ship = node.get("shippingAddress")
    customer = node.get("customer") or {}
    return {
        "id": int(numeric(node["id"])),
        "admin_graphql_api_id": node["id"],
        "name": node.get("name"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": (node.get("cancelReason") or "").lower() or None,
        "currency": node.get("currencyCode"),
        "financial_status": (node.get("displayFinancialStatus") or "").lower() or None,
        "fulfillment_status": _FULFILMENT_STATUS.get(node.get("displayFulfillmentStatus") or ""),
        "total_tax": _money(node.get("totalTaxSet")),
        "note": node.get("note"),
        "customer": {
            "email": customer.get("email"),
            "first_name": customer.get("firstName"),
            "last_name": customer.get("lastName"),
            "phone": customer.get("phone"),
        }
        if customer
        else None,
        "shipping_address": {
            "name": ship.get("name"),
            "first_name": ship.get("firstName"),
            "last_name": ship.get("lastName"),
            "address1": ship.get("address1"),
            "address2": ship.get("address2"),
            "city": ship.get("city"),
            "province_code": ship.get("provinceCode"),
            "zip": ship.get("zip"),
            "country_code": ship.get("countryCodeV2"),
            "phone": ship.get("phone"),
        }
        if isinstance(ship, dict)
        else None,
        "line_items": [
            {
                "id": int(numeric(item["id"])),
                "variant_id": int(numeric(item["variant"]["id"])) if item.get("variant") else None,
                "title": item.get("title"),
                "sku": item.get("sku"),
                "quantity": item.get("quantity"),
                "price": _money(item.get("originalUnitPriceSet")),
                "discount_allocations": [
                    {"amount": _money(d.get("allocatedAmountSet"))}
                    for d in item.get("discountAllocations") or []
                ],
            }
            for item in (node.get("lineItems") or {}).get("nodes") or []
        ],
        "shipping_lines": [
            {
                "title": s.get("title"),
                "code": s.get("code"),
                "price": _money(s.get("originalPriceSet")),
            }
            for s in (node.get("shippingLines") or {}).get("nodes") or []
        ],
    }


def _fulfilment_groups(order: dict[str, Any], lines: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """`lineItemsByFulfillmentOrder`: the open fulfillment orders, or those holding `lines`."""
    wanted = {numeric(line_id): qty for line_id, qty in lines}
    specific = bool(lines)
    groups = []
    for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            continue
        items = []
        for item in (fo.get("lineItems") or {}).get("nodes") or []:
            remaining = int(item.get("remainingQuantity") or 0)
            line_id = numeric((item.get("lineItem") or {}).get("id"))
            if remaining <= 0 or (specific and line_id not in wanted):
                continue
            take = min(remaining, wanted.get(line_id, remaining))
            items.append({"id": item["id"], "quantity": take})
            if specific:
                wanted[line_id] -= take
                if wanted[line_id] <= 0:
                    del wanted[line_id]
        if not items:
            continue
        group: dict[str, Any] = {"fulfillmentOrderId": fo["id"]}
        if specific:
            group["fulfillmentOrderLineItems"] = items
        groups.append(group)
    return groups


# ---- partial cancels ----------------------------------------------------------------------------


def _wanted(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Units to take off per line item (numeric id), repeats added up, zeros dropped."""
    wanted: dict[str, int] = {}
    for ref, units in lines:
        if units:
            wanted[numeric(ref)] = wanted.get(numeric(ref), 0) + int(units)
    return wanted


def _edit_targets(
    order_ref: str, lines: Sequence[tuple[str, int]], editable: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """The quantity each line item is set to: what the edit session shows, less the units.

    Only unfulfilled units can be edited (`editableQuantity`); asking for more is refused here,
    before anything is staged or written.
    """
    targets = {}
    for ref, units in _wanted(lines).items():
        item = editable.get(ref)
        if item is None:
            raise ShopRequestError("unknown_line", f"order {order_ref} has no line item {ref}")
        open_units = int(item.get("editableQuantity") or 0)
        if units < 0 or units > open_units:
            raise ShopRequestError(
                "not_editable",
                f"order {order_ref} line item {ref}: {units} unit(s) to take off, "
                f"{open_units} unfulfilled",
            )
        targets[ref] = int(item.get("quantity") or 0) - units
    return targets


def _lines_marker(key: str, targets: dict[str, int]) -> str:
    """`[key 123=1 456=0]`: the quantities an edit under `key` sets."""
    quantities = " ".join(f"{ref}={qty}" for ref, qty in sorted(targets.items()))
    return f"[{_marker_key(key)} {quantities}]"


def _marker_key(key: str) -> str:
    return re.sub(r"\s", "_", key)


_MARKER = re.compile(r"\[(\S+) ((?:\d+=\d+ ?)+)\]")


def _recorded_targets(note: str, key: str) -> tuple[dict[str, int] | None, bool]:
    """The quantities the marker for `key` in the note records (None: no edit was begun under
    it), and whether the marker of another edit follows it."""
    markers = list(_MARKER.finditer(note))
    for index, match in enumerate(markers):
        if match.group(1) == _marker_key(key):
            pairs = (pair.split("=") for pair in match.group(2).split())
            return {ref: int(qty) for ref, qty in pairs}, index < len(markers) - 1
    return None, False


# ---- error helpers -------------------------------------------------------------------------------


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"errors": response.text[:200] or f"HTTP {response.status_code}"}
    return body if isinstance(body, dict) else {"errors": str(body)[:200]}


def _as_list(errors: Any) -> list[Any]:
    return errors if isinstance(errors, list) else [errors]


def _code(error: Any) -> str | None:
    if isinstance(error, dict):
        return (error.get("extensions") or {}).get("code")
    return None


def _messages(body: dict[str, Any]) -> str:
    errors = _as_list(body.get("errors") or "no detail")
    parts = []
    for error in errors:
        if isinstance(error, dict):
            path = ".".join(str(p) for p in error.get("path") or [])
            parts.append(f"{path}: {error.get('message')}" if path else str(error.get("message")))
        else:
            parts.append(str(error))
    return "; ".join(parts)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0


def _throttle_wait(body: dict[str, Any]) -> float:
    """Seconds until the bucket holds the requested cost again (`throttleStatus`)."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested = float(cost.get("requestedQueryCost") or 0)
    available = float(status.get("currentlyAvailable") or 0)
    rate = float(status.get("restoreRate") or 0)
    if rate <= 0:
        return 1.0
    return max(0.05, (requested - available) / rate)
