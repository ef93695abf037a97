"""The sandbox WooCommerce site over HTTP: REST v3 routes and the `/_sandbox` controls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.woocommerce_controls import control_routes, json_body
from sandbox.woocommerce_state import ORDER_STATUSES, WooError, public_webhook

if TYPE_CHECKING:
    from sandbox.woocommerce_shop import WooShop

API = "/wp-json/wc/v3"
BATCH_LIMIT = 100
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
Handler = Callable[[Request], Awaitable[Response]]


def create_app(shop: WooShop) -> ASGIApp:
    """The ASGI app of one sandbox site."""

    def api(handler: Callable[[Request], Awaitable[Any]], *, creates: bool = False) -> Handler:
        """WooCommerce's gate around a route: rate limit, authentication, errors as JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                retry_after = shop.admit()
                if retry_after is not None:
                    error = WooError(429, "rate_limit_exceeded", "Too many requests. Try later.")
                    headers = {"Retry-After": str(int(retry_after))}
                    return JSONResponse(error.body(), status_code=429, headers=headers)
                query = dict(request.query_params)
                shop.authenticate(request.method, request.headers.get("authorization"), query)
                result = await handler(request)
            except WooError as err:
                return JSONResponse(err.body(), status_code=err.status)
            if isinstance(result, Response):
                return result
            return JSONResponse(result, status_code=201 if creates else 200)

        return endpoint

    store = shop.store

    # ---- products and variations --------------------------------------------------------------

    async def list_products(request: Request) -> Response:
        items = list(store.state.products.values())
        if kind := request.query_params.get("type"):
            items = [p for p in items if p["type"] == kind]
        if sku := request.query_params.get("sku"):
            items = [p for p in items if p["sku"] == sku]
        items.sort(key=lambda p: (p["date_created_gmt"], p["id"]), reverse=True)
        return paged(request, items)

    async def get_product(request: Request) -> Any:
        return store.product(_id(request))

    async def put_product(request: Request) -> Any:
        doc = store.state.products.get(_id(request))
        if doc is None:  # core answers an update of an unknown id with 400
            raise WooError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        result = store.update_stock(doc, await json_body(request))
        store.save()
        return result

    async def batch_products(request: Request) -> Any:
        return await batch(request, lambda item_id: store.state.products.get(item_id), "product")

    async def list_variations(request: Request) -> Response:
        parent = store.product(_id(request))
        items = [store.state.variations[v] for v in parent["variations"]]
        items.sort(key=lambda v: v["id"], reverse=True)
        return paged(request, items)

    async def get_variation(request: Request) -> Any:
        return store.variation(_id(request), _id(request, "vid"))

    async def put_variation(request: Request) -> Any:
        doc = store.variation(_id(request), _id(request, "vid"))
        result = store.update_stock(doc, await json_body(request))
        store.save()
        return result

    async def batch_variations(request: Request) -> Any:
        parent_id = store.product(_id(request))["id"]

        def find(item_id: int) -> dict[str, Any] | None:
            doc = store.state.variations.get(item_id)
            return doc if doc is not None and doc["parent_id"] == parent_id else None

        return await batch(request, find, "product_variation")

    async def batch(
        request: Request, find: Callable[[int], dict[str, Any] | None], kind: str
    ) -> dict[str, Any]:
        body = await json_body(request)
        groups = {k: body.get(k) or [] for k in ("create", "update", "delete")}
        if sum(len(v) for v in groups.values() if isinstance(v, list)) > BATCH_LIMIT:
            raise WooError(
                413,
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            )
        updated: list[dict[str, Any]] = []
        for item in groups["update"]:
            item_id = int(item.get("id") or 0) if isinstance(item, dict) else 0
            doc = find(item_id)
            if doc is None:
                error = WooError(400, f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.")
                updated.append({"id": item_id, "error": error.body()})
                continue
            try:
                updated.append(store.update_stock(doc, item))
            except WooError as err:
                updated.append({"id": item_id, "error": err.body()})
        store.save()
        return {"create": [], "update": updated, "delete": []}

    # ---- orders and notes ---------------------------------------------------------------------

    async def list_orders(request: Request) -> Response:
        q = request.query_params
        items = [o for o in store.state.orders.values() if o["status"] != "trash"]
        status = q.get("status", "any")
        if status not in ("any", "trash", *ORDER_STATUSES):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
        if status == "trash":
            items = [o for o in store.state.orders.values() if o["status"] == "trash"]
        elif status != "any":
            items = [o for o in items if o["status"] == status]
        gmt = q.get("dates_are_gmt", "false").lower() in ("1", "true")
        suffix = "_gmt" if gmt else ""
        for param, column, keep in (
            ("after", "date_created", 1),
            ("before", "date_created", -1),
            ("modified_after", "date_modified", 1),
            ("modified_before", "date_modified", -1),
        ):
            if param in q:
                bound = _wc_time(q[param], param)
                items = [o for o in items if _cmp(o[column + suffix], bound) == keep]
        orderby, order = q.get("orderby", "date"), q.get("order", "desc")
        if orderby not in ORDERBY:
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): orderby")
        if order not in ("asc", "desc"):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): order")
        column = {"modified": "date_modified_gmt", "date": "date_created_gmt"}.get(orderby, "")
        # Core appends the id to date orderings, so pages are stable.
        items.sort(key=lambda o: (o.get(column, ""), o["id"]), reverse=order == "desc")
        return paged(request, items)

    async def get_order(request: Request) -> Any:
        return shop.orders.order(_id(request))

    async def put_order(request: Request) -> Any:
        return shop.update_order(_id(request), await json_body(request))

    async def delete_order(request: Request) -> Any:
        force = request.query_params.get("force", "false").lower() in ("1", "true")
        return shop.trash_order(_id(request), force=force)

    async def list_notes(request: Request) -> Any:
        order_id = shop.orders.order(_id(request))["id"]
        kind = request.query_params.get("type", "any")
        notes = store.state.notes.get(order_id, [])
        if kind in ("customer", "internal"):
            notes = [n for n in notes if n["customer_note"] == (kind == "customer")]
        return notes

    async def add_note(request: Request) -> Any:
        body = await json_body(request)
        order_id = _id(request)
        if order_id not in store.state.orders:
            raise WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        author = "admin" if body.get("added_by_user") else "system"
        note = shop.orders.add_note(
            order_id,
            str(body.get("note") or ""),
            customer_note=bool(body.get("customer_note")),
            author=author,
        )
        store.save()
        return note

    async def list_refunds(request: Request) -> Response:
        return paged(request, shop.orders.refunds(_id(request)))

    async def get_refund(request: Request) -> Any:
        for refund in shop.orders.refunds(_id(request)):
            if refund["id"] == _id(request, "rid"):
                return refund
        raise WooError(404, "woocommerce_rest_invalid_order_refund_id", "Invalid order refund ID.")

    async def create_refund(request: Request) -> Any:
        return shop.refund(_id(request), await json_body(request))

    # ---- webhooks -----------------------------------------------------------------------------

    async def list_webhooks(request: Request) -> Response:
        status = request.query_params.get("status", "all")
        hooks = [h for h in store.state.webhooks.values() if status in ("all", h["status"])]
        return paged(request, [public_webhook(h) for h in hooks])

    async def create_webhook(request: Request) -> Any:
        hook = store.create_webhook(await json_body(request))
        store.save()
        return public_webhook(hook)

    async def get_webhook(request: Request) -> Any:
        return public_webhook(store.webhook(_id(request)))

    async def put_webhook(request: Request) -> Any:
        hook, body = store.webhook(_id(request)), await json_body(request)
        if "status" in body:
            if body["status"] not in ("active", "paused", "disabled"):
                raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
            hook["status"] = body["status"]
            hook["failure_count"] = 0 if body["status"] == "active" else hook["failure_count"]
        for key in ("name", "secret", "delivery_url"):
            if key in body:
                hook[key] = str(body[key])
        store.save()
        return public_webhook(hook)

    async def delete_webhook(request: Request) -> Any:
        hook = store.webhook(_id(request))
        if request.query_params.get("force", "false").lower() not in ("1", "true"):
            raise WooError(
                501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing."
            )
        del store.state.webhooks[hook["id"]]
        store.save()
        return public_webhook(hook)

    async def index(request: Request) -> Response:
        """The WordPress REST index: it names the site (no authentication)."""
        return JSONResponse(
            {
                "name": shop.site_name,
                "description": "",
                "url": shop.site_url,
                "home": shop.site_url,
                "namespaces": ["wp/v2", "wc/v3"],
                "authentication": {},
            }
        )

    routes = [
        Route("/wp-json/", index, methods=["GET"]),
        Route(f"{API}/products", api(list_products), methods=["GET"]),
        Route(f"{API}/products/batch", api(batch_products), methods=["POST", "PUT"]),
        Route(f"{API}/products/{{id:int}}", api(get_product), methods=["GET"]),
        Route(f"{API}/products/{{id:int}}", api(put_product), methods=["PUT", "PATCH", "POST"]),
        Route(f"{API}/products/{{id:int}}/variations", api(list_variations), methods=["GET"]),
        Route(
            f"{API}/products/{{id:int}}/variations/batch",
            api(batch_variations),
            methods=["POST", "PUT"],
        ),
        Route(
            f"{API}/products/{{id:int}}/variations/{{vid:int}}", api(get_variation), methods=["GET"]
        ),
        Route(
            f"{API}/products/{{id:int}}/variations/{{vid:int}}",
            api(put_variation),
            methods=["PUT", "PATCH", "POST"],
        ),
        Route(f"{API}/orders", api(list_orders), methods=["GET"]),
        Route(f"{API}/orders/{{id:int}}", api(get_order), methods=["GET"]),
        Route(f"{API}/orders/{{id:int}}", api(put_order), methods=["PUT", "PATCH", "POST"]),
        Route(f"{API}/orders/{{id:int}}", api(delete_order), methods=["DELETE"]),
        Route(f"{API}/orders/{{id:int}}/notes", api(list_notes), methods=["GET"]),
        Route(f"{API}/orders/{{id:int}}/notes", api(add_note, creates=True), methods=["POST"]),
        Route(f"{API}/orders/{{id:int}}/refunds", api(list_refunds), methods=["GET"]),
        Route(
            f"{API}/orders/{{id:int}}/refunds", api(create_refund, creates=True), methods=["POST"]
        ),
        Route(f"{API}/orders/{{id:int}}/refunds/{{rid:int}}", api(get_refund), methods=["GET"]),
        Route(f"{API}/webhooks", api(list_webhooks), methods=["GET"]),
        Route(f"{API}/webhooks", api(create_webhook, creates=True), methods=["POST"]),
        Route(f"{API}/webhooks/{{id:int}}", api(get_webhook), methods=["GET"]),
        Route(f"{API}/webhooks/{{id:int}}", api(put_webhook), methods=["PUT", "PATCH", "POST"]),
        Route(f"{API}/webhooks/{{id:int}}", api(delete_webhook), methods=["DELETE"]),
        *control_routes(shop),
    ]

    async def no_route(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status in (404, 405):  # WordPress answers both with `rest_no_route`
            error = WooError(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
            return JSONResponse(error.body(), status_code=404)
        return JSONResponse(WooError(status, "http_error", str(exc)).body(), status_code=status)

    return Starlette(routes=routes, exception_handlers={HTTPException: no_route})


def paged(request: Request, items: list[dict[str, Any]]) -> Response:
    """One page of a collection with `X-WP-Total`, `X-WP-TotalPages` and `Link`."""
    try:
        page = int(request.query_params.get("page", "1"))
        per_page = int(request.query_params.get("per_page", "10"))
    except ValueError:
        raise WooError(400, "rest_invalid_param", "Invalid parameter(s): page, per_page") from None
    if page < 1:
        raise WooError(400, "rest_invalid_param", "Invalid parameter(s): page")
    if not 1 <= per_page <= 100:
        raise WooError(400, "rest_invalid_param", "Invalid parameter(s): per_page")
    total = len(items)
    pages = -(-total // per_page)
    chunk = items[(page - 1) * per_page : page * per_page]
    if page > max(pages, 1):
        raise WooError(
            400,
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        )
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    base = {
        k: v
        for k, v in request.query_params.items()
        if k not in ("consumer_key", "consumer_secret")
    }
    url = str(request.url).split("?")[0]
    for rel, target in _rels(page, pages):
        links.append(f'<{url}?{urlencode({**base, "page": target})}>; rel="{rel}"')
    if links:
        headers["Link"] = ", ".join(links)
    return JSONResponse(chunk, headers=headers)


def _rels(page: int, pages: int) -> Iterable[tuple[str, int]]:
    if page > 1:
        yield "prev", min(page - 1, pages)
    if pages > page:
        yield "next", page + 1


def _id(request: Request, name: str = "id") -> int:
    return int(request.path_params[name])


def _wc_time(value: str, param: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {param}") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _cmp(stored: str, bound: datetime) -> int:
    moment = datetime.fromisoformat(stored)
    return (moment > bound) - (moment < bound)


async def serve(shop: WooShop, host: str = "127.0.0.1", port: int = 8790) -> None:
    """Run the site with uvicorn until cancelled (`oms up --demo`)."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(create_app(shop), host=host, port=port, log_level="warning")
    )
    try:
        await server.serve()
    finally:
        await shop.drain()
