"""Order pages: the list with filters and live counts, one order, and its ops actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from api import views
from api.dashboard.web import PageKey, can, check_csrf, flash, render
from api.deps import SessionDep, SessionsDep, SettingsDep
from api.errors import field_path, status_for
from domain.commands import ActionRequest, AddressChange, RerouteRequest
from domain.errors import BadRequest, DomainError, NotFound
from domain.states import OrderStatus
from services import orders as service
from services import search
from services.orders import OpsContext
from store import analytics
from store.tables import StockLevel

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# Page action -> the workflow Update it sends (the same one the /v1 route sends).
# Page action -> the ops use case it runs (the same one the /v1 route runs).
ACTIONS: dict[str, Callable[[OpsContext, str, Any], Awaitable[Any]]] = {
    "cancel": service.cancel,
    "hold": service.hold,
    "release": service.release,
    "reroute": service.reroute,
    "address": service.change_address,
}
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/", response_class=HTMLResponse)
async def order_list(
    request: Request,
    key: PageKey,
    session: SessionDep,
    status: Annotated[str, Query(max_length=200)] = "",
    channel: Annotated[str, Query(max_length=32)] = "",
    location: Annotated[str, Query(max_length=64)] = "",
    sku: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """Orders across channels, newest first, with filters, search and counts by status."""
    filters = search.OrderFilters(
        statuses=status.split(","),
        channel=channel,
        sku=sku,
        location=location,
        q=q,
        date_from=_day(date_from),
        date_to=_day(date_to),
    )
    try:
        page = await search.search_orders(session, filters, PAGE_SIZE, cursor)
    except BadRequest as err:  # a cursor edited by hand, or a NUL in the search
        message = f"{err.field}: {err.message}" if err.field else err.message
        return render(request, key, "not_found.html", status_code=400, message=message)
    params = dict(request.query_params)
    params.pop("cursor", None)
    return render(
        request,
        key,
        "orders.html",
        orders=page.orders,
        next_cursor=page.next_cursor,
        counts=await analytics.status_counts(session),
        statuses=[s.value for s in OrderStatus],
        options=await analytics.filter_options(session),
        f={"status": status, "channel": channel, "location": location, "sku": sku, "q": q},
        raw={"date_from": date_from, "date_to": date_to},
        params=params,
    )


@router.get("/dashboard/counts")
async def counts(key: PageKey, session: SessionDep) -> dict[str, Any]:
    """Orders per status, polled by the list page's script."""
    by_status = await analytics.status_counts(session)
    return {"counts": by_status, "total": sum(by_status.values())}


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_detail(
    request: Request, order_id: str, key: PageKey, session: SessionDep, settings: SettingsDep
) -> Response:
    """One order: lines, allocations, routing, shipments, payments, timeline and actions."""
    try:
        order = await views.get_view(session, order_id, settings)
    except NotFound as err:
        return render(request, key, "not_found.html", status_code=404, message=err.message)
    routing = order.routing or {}
    allocations: dict[str, list[dict[str, Any]]] = {}
    for a in routing.get("allocations", []):
        allocations.setdefault(str(a.get("line_id")), []).append(a)
    locations = (
        await session.scalars(
            select(StockLevel.location_id).distinct().order_by(StockLevel.location_id)
        )
    ).all()
    return render(
        request,
        key,
        "order.html",
        order=order,
        routing=routing,
        allocations=allocations,
        locations=locations,
        events=list(reversed(order.events)),
    )


def _body(action: str, form: dict[str, Any]) -> BaseModel:
    """The same request model the /v1 route validates, built from the form."""
    reason = str(form.get("reason", ""))
    if action == "reroute":
        return RerouteRequest(exclude_locations=form.get("exclude_locations", []), reason=reason)
    if action == "address":
        ship_to = {f: str(form.get(f, "")) for f in ADDRESS_FIELDS if form.get(f)}
        return AddressChange.model_validate({"ship_to": ship_to})
    return ActionRequest(reason=reason)


async def _perform(
    request: Request, key: Any, order_id: str, action: str, sessions: Any, form: dict[str, Any]
) -> tuple[int, str]:
    """Run the action through the service /v1 uses; (HTTP status, message)."""
    if action not in ACTIONS:
        return 404, f"unknown action {action!r}"
    if not can(key, "orders:act"):
        return 403, f"role {key.role!r} may not orders:act"
    try:
        body = _body(action, form)
    except ValidationError as err:
        first = err.errors()[0]
        return 422, f"{field_path(first.get('loc', ()))}: {first.get('msg', 'invalid')}"
    client = await request.app.state.temporal.get()
    if client is None:
        return 503, "Temporal is not reachable; try again"
    settings = request.app.state.settings
    try:
        await ACTIONS[action](OpsContext(sessions, client, settings), order_id, body)
    except DomainError as err:
        text = f"{err.field}: {err.message}" if err.field else err.message
        return status_for(err), text
    return 200, f"{action} done"


@router.post("/orders/{order_id}/actions/{action}")
async def order_action(
    request: Request,
    order_id: str,
    action: str,
    key: PageKey,
    sessions: SessionsDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Cancel, hold, release, reroute or re-address; a refusal shows the workflow's reason."""
    check_csrf(request, csrf)
    raw = await request.form()
    form: dict[str, Any] = {k: raw.get(k) for k in raw if k != "exclude_locations"}
    form["exclude_locations"] = [str(v) for v in raw.getlist("exclude_locations") if v]
    status, message = await _perform(request, key, order_id, action, sessions, form)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": status == 200, "message": message}, status_code=status)
    flash(request, "ok", message) if status == 200 else flash(
        request, "error", f"Refused: {message}"
    )
    return RedirectResponse(f"/orders/{order_id}", status_code=303)
