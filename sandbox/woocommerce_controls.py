"""The sandbox site's own controls under `/_sandbox` (not WooCommerce's; no key needed).

POST /_sandbox/seed      {"products": [sku | {sku, name, price, stock, variable_of, options}]}
                         -> 201 {"listings": [{listing_id, parent_id, sku, title}]}
POST /_sandbox/orders    {"lines": [{"sku"} | {"product_id", "variation_id"}, "quantity"],
                          "status": "processing", "billing": {...}, "shipping": {...}}
                         -> 201 the order (REST v3 shape); `order.created` is delivered
POST /_sandbox/orders/{id}/pay      pending|on-hold|failed -> processing (`order.updated`)
POST /_sandbox/orders/{id}/cancel   -> cancelled (`order.updated`)
POST /_sandbox/orders/{id}/status   {"status"} -> any status (`order.updated`)
GET  /_sandbox/state     -> {site_url, products: [{id, type, parent_id, sku, name,
                             manage_stock, stock_quantity}], orders: [{id, status,
                             date_modified_gmt, notes: [{id, note, customer_note}]}],
                             webhooks: [...], deliveries: [...]}
POST /_sandbox/throttle  {"requests": N, "retry_after_s": R, "requests_per_second": n|null}
                         -> the next N API calls answer 429; optionally change the rate limit
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.woocommerce_state import WooError

if TYPE_CHECKING:
    from sandbox.woocommerce_shop import WooShop


def control_routes(shop: WooShop) -> list[Route]:
    """The `/_sandbox` routes of one site."""

    def control(
        handler: Callable[[Request], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(request)
            except WooError as err:
                return JSONResponse(err.body(), status_code=err.status)
            return JSONResponse(result, status_code=201 if request.method == "POST" else 200)

        return endpoint

    async def control_seed(request: Request) -> Any:
        body = await json_body(request)
        return {"listings": shop.seed(body.get("products") or [])}

    async def control_place(request: Request) -> Any:
        body = await json_body(request)
        return shop.place_order(
            body.get("lines") or [],
            status=str(body.get("status") or "processing"),
            billing=body.get("billing"),
            shipping=body.get("shipping"),
        )

    def order_id(request: Request) -> int:
        return int(request.path_params["id"])

    async def control_pay(request: Request) -> Any:
        order = shop.orders.order(order_id(request))
        if order["status"] not in ("pending", "on-hold", "failed"):
            raise WooError(400, "sandbox_not_payable", f"order is {order['status']}")
        return shop.change_status(order["id"], "processing")

    async def control_cancel(request: Request) -> Any:
        return shop.change_status(order_id(request), "cancelled")

    async def control_status(request: Request) -> Any:
        status = str((await json_body(request)).get("status") or "")
        return shop.change_status(order_id(request), status)

    async def control_state(request: Request) -> Any:
        return shop.snapshot()

    async def control_throttle(request: Request) -> Any:
        body = await json_body(request)
        shop.throttle(int(body.get("requests") or 0), float(body.get("retry_after_s") or 1.0))
        if "requests_per_second" in body:
            rate = body["requests_per_second"]
            shop.requests_per_second = int(rate) if rate is not None else None
        return {"ok": True}

    return [
        Route("/_sandbox/seed", control(control_seed), methods=["POST"]),
        Route("/_sandbox/orders", control(control_place), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}/pay", control(control_pay), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}/cancel", control(control_cancel), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}/status", control(control_status), methods=["POST"]),
        Route("/_sandbox/state", control(control_state), methods=["GET"]),
        Route("/_sandbox/throttle", control(control_throttle), methods=["POST"]),
    ]


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (empty when there is no body), or WordPress's 400."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
    if not isinstance(body, dict):
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
    return body
