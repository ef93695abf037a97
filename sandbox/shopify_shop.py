"""A sandbox Shopify shop that speaks the GraphQL Admin API and sends signed order webhooks.

`POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`, answered with
`extensions.cost` from a leaky bucket (Shopify's Standard plan by default: 2000 points,
restoring 100 points/s, at most 1000 per query) and `THROTTLED` when the bucket is short; a
request-rate limit answers 429 with `Retry-After`. Order changes (made at the shop through
`/_sandbox/...`, which is ours, not Shopify's, or by mutations such as an order edit's commit)
are delivered to every subscribed callback as Shopify delivers them: the REST order JSON,
base64 HMAC-SHA256 of the raw body under the app's secret, `X-Shopify-*` headers (or the newer
`Shopify-*` spelling), retried on failure.

    shop = ShopifyShop(webhook_secret="...", state_path="var/shopify.json").seed(
        products=[{"sku": "TSHIRT-M", "title": "T-shirt", "price": "19.99"}])
    await serve(shop, "127.0.0.1", 8300)
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from integrations.channels.base import hmac_b64
from sandbox.shopify_graphql import Executor, GraphQLError, parse, requested_cost
from sandbox.shopify_state import ShopError, ShopifyShop

__all__ = ["Limits", "ShopifyShop", "create_app", "serve"]

log = structlog.get_logger(__name__)

UNAUTHORIZED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
RATE_LIMITED = "Exceeded the request rate for the api client. Reduce request rates to resume."
DELIVERY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)


@dataclass
class Limits:
    """The throttles: a cost bucket (points) and a request rate (requests per second)."""

    maximum_available: float = 2000.0
    restore_rate: float = 100.0
    max_query_cost: int = 1000
    requests_per_second: int = 40
    currently_available: float = 2000.0
    updated: float = field(default_factory=time.monotonic)
    # Tests and the demo can force 429s: every request until this monotonic time is refused.
    rate_limited_until: float = 0.0
    retry_after_s: float = 1.0
    recent: deque[float] = field(default_factory=deque)

    def refill(self) -> float:
        """Leak the bucket back up to now; the points available."""
        now = time.monotonic()
        self.currently_available = min(
            self.maximum_available,
            self.currently_available + (now - self.updated) * self.restore_rate,
        )
        self.updated = now
        return self.currently_available

    def status(self) -> dict[str, float]:
        """`throttleStatus` as Shopify reports it."""
        return {
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": round(self.currently_available, 1),
            "restoreRate": self.restore_rate,
        }

    def request_allowed(self) -> float | None:
        """None when this request may proceed, else the seconds to wait (Retry-After)."""
        now = time.monotonic()
        if now < self.rate_limited_until:
            return round(max(self.retry_after_s, self.rate_limited_until - now), 2)
        while self.recent and now - self.recent[0] > 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.requests_per_second:
            return round(1.0 - (now - self.recent[0]), 2) or 0.1
        self.recent.append(now)
        return None


class Deliverer:
    """Sends webhooks to the shop's subscriptions in the background, retrying failures."""

    def __init__(self, shop: ShopifyShop, api_version: str) -> None:
        self.shop, self.api_version = shop, api_version
        self.new_headers = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.http = httpx.AsyncClient(timeout=5.0)

    def announce(self, topic: str, doc: dict[str, Any]) -> None:
        """Queue `topic` for every subscription to it (webhook topics are upper snake case)."""
        wanted = topic.upper().replace("/", "_")
        body = json.dumps(doc).encode()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a change made outside the server (a seed script): nothing to send
            return
        for hook in list(self.shop.state["webhooks"].values()):
            if hook["topic"] == wanted:
                task = loop.create_task(self._send(hook, topic, body))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    def headers(self, topic: str, body: bytes, webhook_id: str, event_id: str) -> dict[str, str]:
        """Shopify's delivery headers, signed with the app's secret."""
        values = {
            "Hmac-Sha256": hmac_b64(self.shop.webhook_secret, body),
            "Topic": topic,
            "Shop-Domain": self.shop.domain,
            "Api-Version": self.api_version,
            "Webhook-Id": webhook_id,
            "Event-Id": event_id,
            "Triggered-At": self.shop.now(),
        }
        prefix = "Shopify-" if self.new_headers else "X-Shopify-"
        return {"Content-Type": "application/json"} | {prefix + k: v for k, v in values.items()}

    async def _send(self, hook: dict[str, Any], topic: str, body: bytes) -> None:
        event_id, webhook_id = str(uuid.uuid4()), str(uuid.uuid4())
        record = {"topic": topic, "uri": hook["uri"], "webhook_id": webhook_id, "attempts": 0}
        record["status"] = "pending"
        self.shop.state["deliveries"].append(record)
        for wait in (0.0, *DELIVERY_BACKOFF_S):
            await asyncio.sleep(wait)
            record["attempts"] += 1
            try:
                answer = await self.http.post(
                    hook["uri"],
                    content=body,
                    headers=self.headers(topic, body, webhook_id, event_id),
                )
            except httpx.HTTPError as err:
                record["status"], record["error"] = "failed", repr(err)
                continue
            record["http_status"] = answer.status_code
            if 200 <= answer.status_code < 300:
                record["status"] = "delivered"
                return
            record["status"] = "failed"
        log.warning("webhook delivery gave up", topic=topic, uri=hook["uri"])

    async def drain(self) -> None:
        """Wait for deliveries in flight (tests and shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def create_app(
    shop: ShopifyShop, *, api_version: str = "2026-10", limits: Limits | None = None
) -> ASGIApp:
    """The shop's ASGI app: the Admin GraphQL route plus `/_sandbox/...` controls."""
    limits = limits or Limits()
    deliverer = Deliverer(shop, api_version)
    shop.on_event = deliverer.announce

    async def graphql(request: Request) -> Response:
        if request.headers.get("x-shopify-access-token") != shop.access_token:
            return JSONResponse({"errors": UNAUTHORIZED}, status_code=401)
        wait = limits.request_allowed()
        if wait is not None:
            return JSONResponse(
                {"errors": RATE_LIMITED}, status_code=429, headers={"Retry-After": f"{wait:g}"}
            )
        try:
            body = json.loads(await request.body())
            document, variables = str(body["query"]), dict(body.get("variables") or {})
            kind, roots = parse(document, variables)
        except GraphQLError as err:
            return _errors(err.message, err.code)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": "Bad Request"}, status_code=400)
        cost = requested_cost(kind, roots)
        if cost > limits.max_query_cost:
            message = f"Query cost is {cost}, which exceeds the single query max cost limit."
            return _errors(message, "MAX_COST_EXCEEDED", _cost(cost, None, limits))
        if limits.refill() < cost:
            return _errors("Throttled", "THROTTLED", _cost(cost, None, limits))
        executor = Executor(shop, request.path_params["version"])
        try:
            data = executor.run(kind, roots)
        except GraphQLError as err:
            return _errors(err.message, err.code, _cost(cost, 0, limits))
        actual = min(cost, 1 + executor.nodes_returned) if kind == "query" else cost
        limits.currently_available -= actual
        return JSONResponse({"data": data, "extensions": _cost(cost, actual, limits)})

    async def place_order(request: Request) -> Response:
        spec = await request.json()
        deliverer.new_headers = bool(spec.get("new_headers", deliverer.new_headers))
        try:
            order = shop.place_order(spec)
        except ShopError as err:
            return JSONResponse({"field": err.field, "message": err.message}, status_code=422)
        return JSONResponse({"order": shop.rest_order(order)}, status_code=201)

    def _order_action(action: str) -> Any:
        async def handler(request: Request) -> Response:
            spec = await request.json() if await request.body() else {}
            try:
                if action == "paid":
                    order = shop.mark_paid(request.path_params["order_id"])
                else:
                    order = shop.cancel(
                        request.path_params["order_id"], spec.get("reason", "other")
                    )
            except ShopError as err:
                return JSONResponse({"field": err.field, "message": err.message}, status_code=409)
            return JSONResponse({"order": shop.rest_order(order)})

        return handler

    async def read_order(request: Request) -> Response:
        try:
            order = shop.order(request.path_params["order_id"])
        except ShopError as err:
            return JSONResponse({"message": err.message}, status_code=404)
        return JSONResponse({"order": shop.rest_order(order)})

    async def inventory(request: Request) -> Response:
        sku, location = request.query_params.get("sku"), request.query_params.get("location_id")
        levels = []
        for v in shop.state["variants"].values():
            if sku and v["sku"] != sku:
                continue
            for loc in shop.state["locations"]:
                if location and loc != location:
                    continue
                levels.append(
                    {
                        "sku": v["sku"],
                        "variant_id": v["id"],
                        "inventory_item_id": v["inventory_item_id"],
                        "location_id": int(loc),
                        "available": shop.level(v["inventory_item_id"], int(loc)),
                    }
                )
        return JSONResponse({"levels": levels})

    async def fulfillments(request: Request) -> Response:
        found = [
            {
                "order_id": o["id"],
                "fulfillment_id": f["id"],
                "tracking_numbers": [t.get("number") for t in f["tracking"]],
                "tracking_company": (f["tracking"] or [{}])[0].get("company"),
                "tracking_url": (f["tracking"] or [{}])[0].get("url"),
                "line_items": f["line_items"],
                "notify_customer": f["notify_customer"],
            }
            for o in shop.state["orders"].values()
            for f in o["fulfillments"]
        ]
        return JSONResponse({"fulfillments": found})

    async def state(request: Request) -> Response:
        orders = shop.state["orders"].values()
        return JSONResponse(
            {
                "domain": shop.domain,
                "locations": list(shop.state["locations"].values()),
                "variants": list(shop.state["variants"].values()),
                "webhooks": list(shop.state["webhooks"].values()),
                "notes": {str(o["id"]): o["note"] for o in orders if o["note"]},
                "cancellations": [
                    {
                        "order_id": o["id"],
                        "cancelled_at": o["cancelled_at"],
                        "reason": o["cancel_reason"],
                    }
                    for o in orders
                    if o["cancelled_at"]
                ],
                "edits": [{"order_id": o["id"], **e} for o in orders for e in o.get("edits", [])],
                "deliveries": shop.state["deliveries"],
                "throttle": limits.status(),
            }
        )

    async def throttle(request: Request) -> Response:
        spec = await request.json()
        limits.refill()
        for name in ("maximum_available", "restore_rate", "currently_available"):
            if name in spec:
                setattr(limits, name, float(spec[name]))
        if "requests_per_second" in spec:
            limits.requests_per_second = int(spec["requests_per_second"])
        if "rate_limit_for_s" in spec:
            limits.retry_after_s = float(spec.get("retry_after_s", limits.retry_after_s))
            limits.rate_limited_until = time.monotonic() + float(spec["rate_limit_for_s"])
        return JSONResponse({"throttle": limits.status()})

    async def headers_style(request: Request) -> Response:
        deliverer.new_headers = bool((await request.json()).get("new_headers"))
        return JSONResponse({"new_headers": deliverer.new_headers})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await deliverer.drain()
        await deliverer.http.aclose()

    app = Starlette(
        routes=[
            Route("/admin/api/{version}/graphql.json", graphql, methods=["POST"]),
            Route("/_sandbox/orders", place_order, methods=["POST"]),
            Route("/_sandbox/orders/{order_id}", read_order, methods=["GET"]),
            Route("/_sandbox/orders/{order_id}/paid", _order_action("paid"), methods=["POST"]),
            Route("/_sandbox/orders/{order_id}/cancel", _order_action("cancel"), methods=["POST"]),
            Route("/_sandbox/inventory", inventory, methods=["GET"]),
            Route("/_sandbox/fulfillments", fulfillments, methods=["GET"]),
            Route("/_sandbox/state", state, methods=["GET"]),
            Route("/_sandbox/throttle", throttle, methods=["POST"]),
            Route("/_sandbox/webhook-headers", headers_style, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.deliverer, app.state.limits = deliverer, limits
    return app


def _cost(requested: int, actual: int | None, limits: Limits) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": limits.status(),
        }
    }


def _errors(message: str, code: str, extensions: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {
        "errors": [
            {
                "message": message,
                "extensions": {
                    "code": code,
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                }
                if code in ("THROTTLED", "MAX_COST_EXCEEDED")
                else {"code": code},
            }
        ]
    }
    if extensions:
        body["extensions"] = extensions
    return JSONResponse(body)


async def serve(shop: ShopifyShop, host: str = "127.0.0.1", port: int = 8300) -> None:
    """Run the shop with uvicorn until cancelled (`oms up --demo`)."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(shop), host=host, port=port, log_level="warning", access_log=False
        )
    )
    running = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        # Shut down cleanly (deliveries in flight drained) rather than tearing the server down.
        server.should_exit = True
        await running
        raise
