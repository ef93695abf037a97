"""WooCommerce REST API v3 (`{base_url}/wp-json/wc/v3`) as a `ShopClient`.

Authenticated with the REST API key pair over HTTP Basic, as WooCommerce documents for HTTPS
(a real site refuses Basic over plain HTTP, where it wants OAuth 1.0a signatures: connect to
shops by their `https://` URL; the sandbox accepts Basic on any scheme).
Collections are read page by page (`per_page=100`, the maximum) until `X-WP-TotalPages`;
stock is written with the batch endpoints (100 objects per request, the documented limit),
variations at their own route. WooCommerce has no idempotency keys, so each change that is
not naturally idempotent looks first: a note (or a refund's reason) containing its marker
means it was made.

A 429 (hosts rate-limit WooCommerce) or a 5xx or network failure is retried here for a few
seconds at most; past that budget it raises `ShopUnavailable` with the shop's `Retry-After`, so
the activity's retry policy takes over instead of holding a worker slot.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import structlog

from integrations.channels.shop import (
    ShopClient,
    ShopFulfilment,
    ShopListing,
    ShopLocation,
    ShopOrder,
    ShopRequestError,
    ShopStock,
    ShopUnavailable,
)

log = structlog.get_logger(__name__)

API_PATH = "/wp-json/wc/v3"
PER_PAGE = 100  # the REST API's maximum `per_page`
BATCH_LIMIT = 100  # "limited to up to 100 objects to be created, updated or deleted"
SUBSCRIBED_TOPICS = ("order.created", "order.updated", "order.deleted")
# `grouped` products are sold through their children; `external` ones are sold elsewhere.
UNSTOCKED_TYPES = frozenset({"grouped", "external"})
# Cap on the time spent waiting between retries of one request; beyond it the activity retries.
RETRY_BUDGET_S = 3.0
# An order in one of these is not completed by our last parcel (the shop closed it otherwise).
FINAL_STATUSES = frozenset({"completed", "cancelled", "refunded", "trash"})
FIRST_BACKOFF_S = 0.25
# WooCommerce answers a refund it will not create with 500 and this code (`wc_create_refund`'s
# "Invalid refund amount.", a gateway that cannot refund): a refusal, not the site being down.
REFUSED_WITH_500 = frozenset({"woocommerce_rest_cannot_create_order_refund"})


class WooCommerceClient:
    """One WooCommerce site, through its REST API key."""

    channel = "woocommerce"

    def __init__(
        self,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        webhook_secret: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 20.0,
        retry_budget_s: float = RETRY_BUDGET_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._webhook_secret = webhook_secret
        self._retry_budget_s = retry_budget_s
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(consumer_key, consumer_secret),
            transport=transport,
            timeout=timeout_s,
            headers={"Accept": "application/json", "User-Agent": "oms-woocommerce/1"},
        )

    # ---- ShopClient ---------------------------------------------------------------------------

    async def listings(self) -> list[ShopListing]:
        """Simple products, and each variation of a variable product (with its parent)."""
        found: list[ShopListing] = []
        async for product in self._pages("/products"):
            kind = str(product.get("type") or "simple")
            if kind in UNSTOCKED_TYPES:
                continue
            if kind != "variable":
                found.append(_listing(product, str(product.get("name") or "")))
                continue
            parent = str(product["id"])
            async for variation in self._pages(f"/products/{parent}/variations"):
                found.append(_listing(variation, _variation_title(product, variation), parent))
        return found

    async def locations(self) -> list[ShopLocation]:
        """WooCommerce keeps one stock level per item: one location, named after the site."""
        name = ""
        try:
            # The WordPress REST index (`/wp-json/`) names the site; WooCommerce's own routes
            # do not.
            body = (await self._send("GET", "/wp-json/")).json()
            name = str(body.get("name") or "") if isinstance(body, dict) else ""
        except (ShopRequestError, ValueError):
            pass
        return [ShopLocation("", name or self.base_url)]

    async def subscribe_webhooks(self, callback_url: str) -> list[str]:
        """`order.created/updated/deleted` to `callback_url`, signed with our secret."""
        if not self._webhook_secret:
            # WooCommerce would sign with a secret of its own choosing, which we could not check.
            raise ShopRequestError("oms_webhook_secret_missing", "no webhook secret configured")
        mine: dict[str, dict[str, Any]] = {}
        async for hook in self._pages("/webhooks"):
            if hook.get("delivery_url") == callback_url and hook.get("topic") in SUBSCRIBED_TOPICS:
                mine.setdefault(str(hook["topic"]), hook)
        for topic in SUBSCRIBED_TOPICS:
            existing = mine.get(topic)
            if existing is None:
                await self._json(
                    "POST",
                    "/webhooks",
                    body={
                        "name": f"OMS {topic}",
                        "topic": topic,
                        "delivery_url": callback_url,
                        "secret": self._webhook_secret,
                        "status": "active",
                    },
                )
            elif existing.get("status") != "active":
                # WooCommerce disables a webhook after repeated failed deliveries.
                await self._json(
                    "PUT",
                    f"/webhooks/{existing['id']}",
                    body={"status": "active", "secret": self._webhook_secret},
                )
        return list(SUBSCRIBED_TOPICS)

    async def set_stock(self, levels: Sequence[ShopStock]) -> None:
        """Managed stock, absolute quantities: products and each parent's variations in batches."""
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for level in levels:
            item = {
                "id": _int_id(level.inventory_item_id or level.listing_id, "inventory_item_id"),
                "manage_stock": True,
                "stock_quantity": level.available,
            }
            groups.setdefault(level.parent_id or None, []).append(item)
        failures: list[str] = []
        for parent, items in groups.items():
            path = f"/products/{parent}/variations/batch" if parent else "/products/batch"
            for start in range(0, len(items), BATCH_LIMIT):
                chunk = items[start : start + BATCH_LIMIT]
                answer = await self._json("POST", path, body={"update": chunk})
                rows = (answer.get("update") or []) if isinstance(answer, dict) else []
                for row in rows:
                    if isinstance(row, dict) and row.get("error"):
                        error = row["error"]
                        failures.append(
                            f"{row.get('id')}: {error.get('code')} {error.get('message')}"
                        )
        if failures:
            # Every other item was set; repeating the call is harmless (absolute levels).
            raise ShopRequestError("woocommerce_rest_batch_failed", "; ".join(failures))

    async def fulfil(self, fulfilment: ShopFulfilment, *, idempotency_key: str) -> str:
        """A customer note with the carrier and tracking link; the last parcel completes it."""
        order_id = _int_id(fulfilment.order_ref, "order_ref")
        order = await self._json("GET", f"/orders/{order_id}")
        marker = fulfilment.tracking_number or f"[{idempotency_key}]"
        note_id = await self._find_note(order_id, marker)
        if note_id is None:
            text = _shipped_text(fulfilment, order, marker)
            note = await self._json(
                "POST", f"/orders/{order_id}/notes", body={"note": text, "customer_note": True}
            )
            note_id = str(note.get("id"))
        if fulfilment.last_parcel and order.get("status") not in FINAL_STATUSES:
            await self._json("PUT", f"/orders/{order_id}", body={"status": "completed"})
        return note_id

    async def cancel(self, order_ref: str, *, reason: str, idempotency_key: str) -> None:
        """Status `cancelled` (already cancelled is fine) and a private note saying why."""
        order_id = _int_id(order_ref, "order_ref")
        order = await self._json("GET", f"/orders/{order_id}")
        if order.get("status") not in ("cancelled", "trash"):
            await self._json("PUT", f"/orders/{order_id}", body={"status": "cancelled"})
        await self._note_once(order_id, f"Cancelled by the OMS: {reason}", idempotency_key)

    async def cancel_lines(
        self,
        order_ref: str,
        lines: Sequence[tuple[str, int]],
        *,
        reason: str,
        idempotency_key: str,
    ) -> None:
        """Take units off line items with a refund that moves no money and no stock.

        Why a refund: it is what WooCommerce's REST API documents for taking units off an order
        after checkout (`POST /orders/{id}/refunds`, each `line_items` entry an item id with the
        `quantity` taken off); the order keeps its lines and shows each one's units refunded,
        as its admin screen does. Rewriting the lines (`PUT /orders/{id}` with `line_items`)
        would erase what the customer bought and was charged for.

        `api_refund: false`: the order was paid at the shop, and whether and how to pay the
        customer back is the shop's call, so no gateway is asked (bank transfer, cheque and
        cash on delivery cannot refund through it anyway). Hence `refund_total` 0 and `amount`
        "0": the order must not claim that money went back when none did; the reason says what
        the units cost (Shopify's order edit likewise leaves a refund owed). `api_restock:
        false`: the OMS sets the shop's stock levels itself.

        Idempotent: the refund's reason carries `[idempotency_key]`; one found is the work done.
        Units are checked against what each line has left (its quantity less what earlier
        refunds took off): WooCommerce checks amounts, not quantities.
        """
        wanted: dict[str, int] = {}
        for ref, units in lines:
            if units:
                wanted[str(ref)] = wanted.get(str(ref), 0) + int(units)
        if not wanted:
            return
        order_id = _int_id(order_ref, "order_ref")
        marker = f"[{idempotency_key}]"
        refunds = [refund async for refund in self._pages(f"/orders/{order_id}/refunds")]
        if any(marker in str(refund.get("reason") or "") for refund in refunds):
            return
        order = await self._json("GET", f"/orders/{order_id}")
        items = {str(item.get("id")): item for item in order.get("line_items") or []}
        refunded = _refunded_units(refunds)
        body_lines, taken, owed = [], [], Decimal(0)
        for ref, units in wanted.items():
            item = items.get(ref)
            if item is None:
                raise ShopRequestError(
                    "oms_unknown_line", f"order {order_id} has no line item {ref}"
                )
            ordered = int(item.get("quantity") or 0)
            left = ordered - refunded.get(ref, 0)
            if units < 0 or units > left:
                raise ShopRequestError(
                    "oms_too_many_units",
                    f"order {order_id} line item {ref}: {units} unit(s) to take off, {left} left",
                )
            body_lines.append({"id": int(ref), "quantity": units, "refund_total": 0})
            taken.append(f"{units} x {item.get('name') or ref}")
            paid = Decimal(str(item.get("total") or 0)) + Decimal(str(item.get("total_tax") or 0))
            owed += paid * units / max(ordered, 1)
        text = (
            f"Cancelled by the OMS: {', '.join(taken)} ({reason}). No money was refunded here: "
            f"these units came to {owed.quantize(Decimal('0.01'))} {order.get('currency') or ''}"
        ).rstrip()
        await self._json(
            "POST",
            f"/orders/{order_id}/refunds",
            body={
                "amount": "0",
                "reason": f"{text} {marker}",
                "line_items": body_lines,
                "api_refund": False,
                "api_restock": False,
            },
        )

    async def note(self, order_ref: str, text: str, *, idempotency_key: str) -> None:
        """A private (admin) note, added once per idempotency key."""
        await self._note_once(_int_id(order_ref, "order_ref"), text, idempotency_key)

    async def orders_since(self, since: datetime) -> list[ShopOrder]:
        """Orders modified at or after `since`, oldest first, as `order.updated` deliveries."""
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).astimezone(UTC)
        floor = since.replace(microsecond=0)
        params = {
            # `modified_after` is exclusive and to the second: one second earlier, then filter,
            # so an order modified exactly at `since` is included.
            "modified_after": (floor - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            "dates_are_gmt": "true",
            # `modified` is in core's enum (WC_REST_CRUD_Controller) though the docs omit it;
            # core appends the id, so pages are stable.
            "orderby": "modified",
            "order": "asc",
        }
        found: list[ShopOrder] = []
        async for order in self._pages("/orders", params):
            modified = str(order.get("date_modified_gmt") or "")
            if modified and _gmt(modified) < floor:
                continue
            found.append(ShopOrder(str(order["id"]), modified, "order.updated", order))
        return found

    async def aclose(self) -> None:
        """Release the HTTP client."""
        await self._http.aclose()

    # ---- notes --------------------------------------------------------------------------------

    async def _find_note(self, order_id: int, marker: str) -> str | None:
        notes = await self._json("GET", f"/orders/{order_id}/notes")
        for note in notes if isinstance(notes, list) else []:
            if marker in str(note.get("note") or ""):
                return str(note.get("id"))
        return None

    async def _note_once(self, order_id: int, text: str, idempotency_key: str) -> None:
        marker = f"[{idempotency_key}]"
        if await self._find_note(order_id, marker) is None:
            body = {"note": f"{text} {marker}", "customer_note": False}
            await self._json("POST", f"/orders/{order_id}/notes", body=body)

    # ---- HTTP ---------------------------------------------------------------------------------

    async def _pages(
        self, path: str, params: dict[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        page = 1
        while True:
            query = {**(params or {}), "per_page": PER_PAGE, "page": page}
            response = await self._send("GET", f"{API_PATH}{path}", params=query)
            items = response.json()
            if not isinstance(items, list):
                raise ShopRequestError("unexpected_response", f"GET {path} is not a list")
            for item in items:
                yield item
            total = _int_header(response, "X-WP-TotalPages")
            if not items or total is None or page >= total:
                return
            page += 1

    async def _json(self, method: str, path: str, *, body: dict[str, Any] | None = None) -> Any:
        response = await self._send(method, f"{API_PATH}{path}", json=body)
        return response.json()

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One request, retried on 429/5xx/network errors within the retry budget."""
        waited, backoff = 0.0, FIRST_BACKOFF_S
        while True:
            failure: ShopUnavailable
            try:
                response = await self._http.request(method, url, params=params, json=json)
            except httpx.TransportError as err:
                failure = ShopUnavailable("network_error", f"{method} {url}: {err!r}")
            else:
                if response.status_code < 400:
                    return response
                refused = _failure(method, url, response)
                if isinstance(refused, ShopRequestError):
                    raise refused
                failure = refused
            pause = failure.retry_after_s if failure.retry_after_s is not None else backoff
            if waited + pause > self._retry_budget_s:
                raise failure
            log.info("woocommerce retry", url=url, code=failure.code, pause_s=pause)
            await asyncio.sleep(pause)
            waited, backoff = waited + pause, backoff * 2


def _failure(method: str, url: str, response: httpx.Response) -> ShopRequestError | ShopUnavailable:
    """WooCommerce's `{"code","message","data":{"status"}}` as our error."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or f"http_{status}")
    message = f"{method} {url} -> {status}: {body.get('message') or response.reason_phrase}"
    if status == 429 or (status >= 500 and code not in REFUSED_WITH_500):
        return ShopUnavailable(code, message, _retry_after(response))
    return ShopRequestError(code, message)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _int_id(value: str, what: str) -> int:
    """WooCommerce ids are integers; anything else is a request it would refuse."""
    try:
        return int(str(value).strip())
    except ValueError:
        raise ShopRequestError(
            "oms_invalid_id", f"{what} {value!r} is not a WooCommerce id"
        ) from None


def _gmt(value: str) -> datetime:
    return datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=UTC)


def _listing(item: dict[str, Any], title: str, parent_id: str | None = None) -> ShopListing:
    item_id = str(item["id"])
    return ShopListing(
        listing_id=item_id,
        inventory_item_id=item_id,
        title=title,
        sku=str(item.get("sku") or "").strip() or None,
        # WooCommerce 9.2+ has a GTIN/UPC/EAN/ISBN field.
        barcode=str(item.get("global_unique_id") or "").strip() or None,
        parent_id=parent_id,
    )


def _variation_title(product: dict[str, Any], variation: dict[str, Any]) -> str:
    if variation.get("name"):
        return str(variation["name"])
    options = ", ".join(str(a.get("option")) for a in variation.get("attributes") or [])
    base = str(product.get("name") or "")
    return f"{base} - {options}" if options else base


def _refunded_units(refunds: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Units each order line item lost to refunds: a refund's line item is a negative copy of
    the order's, which it names in its `_refunded_item_id` meta."""
    units: dict[str, int] = {}
    for refund in refunds:
        for item in refund.get("line_items") or []:
            meta = {m.get("key"): m.get("value") for m in item.get("meta_data") or []}
            ref = str(meta.get("_refunded_item_id") or "")
            if ref:
                units[ref] = units.get(ref, 0) + abs(int(item.get("quantity") or 0))
    return units


def _shipped_text(fulfilment: ShopFulfilment, order: dict[str, Any], marker: str) -> str:
    text = f"Shipped with {fulfilment.carrier}, tracking number {marker}"
    if fulfilment.tracking_url:
        text += f": {fulfilment.tracking_url}"
    if fulfilment.lines:
        names = {str(i.get("id")): str(i.get("name") or "") for i in order.get("line_items") or []}
        items = ", ".join(f"{qty} x {names.get(ref) or ref}" for ref, qty in fulfilment.lines)
        text += f" ({items})"
    return text


if TYPE_CHECKING:
    # The protocol is structural: let mypy hold the client to it.
    _conforms: ShopClient = WooCommerceClient("", "", "")
