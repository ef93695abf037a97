"""Every API route × every role: 401 without a key, 403 or not according to its permission.

The permission of each route is read from its dependencies (`api.deps.require`) and compared with
the table below, so a new route fails here until it is listed: with the permission it needs, or
in PUBLIC when it is public by design (then say why).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from api import auth
from tests.conftest import Stack

# Scope of the matrix: the JSON API and the codec server.
PROTECTED_PREFIXES = ("/v1/", "/codec/")

EXPECTED: dict[tuple[str, str], str] = {
    ("POST", "/v1/orders/{order_id}/returns"): "returns:write",
    ("POST", "/v1/returns/{rma_id}/receive"): "returns:write",
    ("GET", "/v1/returns"): "returns:read",
    ("GET", "/v1/returns/{rma_id}"): "returns:read",
    ("GET", "/v1/returns/{rma_id}/label"): "returns:read",
    ("POST", "/v1/orders"): "orders:create",
    ("GET", "/v1/orders"): "orders:read",
    ("GET", "/v1/orders/{order_id}"): "orders:read",
    ("POST", "/v1/orders/{order_id}/cancel"): "orders:act",
    ("POST", "/v1/orders/{order_id}/hold"): "orders:act",
    ("POST", "/v1/orders/{order_id}/release"): "orders:act",
    ("POST", "/v1/orders/{order_id}/address"): "orders:act",
    ("POST", "/v1/orders/{order_id}/reroute"): "orders:act",
    ("POST", "/v1/orders/{order_id}/lines/cancel"): "orders:act",
    ("POST", "/v1/orders/{order_id}/edit"): "orders:act",
    # Whoever may create orders may place the drafts they stored.
    ("POST", "/v1/orders/{order_id}/confirm"): "orders:create",
    ("GET", "/v1/receivables"): "orders:read",
    ("GET", "/v1/shipments/{shipment_id}/invoice"): "shipments:read",
    ("GET", "/v1/inventory/{sku}"): "inventory:read",
    ("POST", "/v1/inventory/adjustments"): "inventory:write",
    ("POST", "/v1/inventory/receipts"): "inventory:write",
    ("POST", "/v1/inventory/inbound"): "inventory:write",
    ("POST", "/v1/inventory/import"): "inventory:write",
    ("GET", "/v1/skus"): "catalogue:read",
    ("GET", "/v1/skus/{sku}"): "catalogue:read",
    ("PUT", "/v1/skus/{sku}"): "catalogue:write",
    ("POST", "/v1/skus/import"): "catalogue:write",
    ("GET", "/v1/locations"): "locations:read",
    ("POST", "/v1/locations"): "locations:write",
    ("PUT", "/v1/locations/{location_id}"): "locations:write",
    ("GET", "/v1/routing-profiles"): "routing:read",
    ("GET", "/v1/routing-profiles/{name}"): "routing:read",
    ("PUT", "/v1/routing-profiles/{name}"): "routing:write",
    ("POST", "/v1/shipments/{shipment_id}/events"): "shipments:write",
    ("GET", "/v1/shipments/{shipment_id}/label"): "shipments:read",
    ("GET", "/v1/shipments/{shipment_id}/packing-slip"): "shipments:read",
    ("GET", "/v1/channels/dead-letters"): "orders:read",
    ("POST", "/v1/channel-connections"): "connections:admin",
    ("GET", "/v1/channel-connections"): "connections:read",
    ("GET", "/v1/channel-connections/{connection_id}"): "connections:read",
    ("DELETE", "/v1/channel-connections/{connection_id}"): "connections:admin",
    ("POST", "/v1/channel-connections/{connection_id}/sync"): "connections:sync",
    ("GET", "/v1/channel-connections/{connection_id}/listings"): "connections:read",
    ("PUT", "/v1/channel-connections/{connection_id}/listings/{listing_id}"): "connections:sync",
    ("POST", "/v1/channels/dead-letters/{dead_letter_id}/replay"): "orders:act",
    ("GET", "/v1/analytics/kpis"): "analytics:read",
    ("POST", "/v1/api-keys"): "keys:admin",
    ("GET", "/v1/api-keys"): "keys:admin",
    ("DELETE", "/v1/api-keys/{key_id}"): "keys:admin",
    ("POST", "/codec/encode"): "orders:read",
    ("POST", "/codec/decode"): "orders:read",
}

# Public by design. Webhooks authenticate by the channel's HMAC signature, not an API key.
PUBLIC_API = re.compile(r"^/v1/channels/[^/]+/webhooks$")
# Outside the API: probes, metrics, API docs, the dashboard's sign-in and its static files.
PUBLIC_PAGES = {
    "/healthz",
    "/livez",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/login",
    "/logout",
}
PUBLIC_PAGE_PREFIXES = ("/static/",)


def route_contexts(app: FastAPI) -> Iterator[Any]:
    """Every route of the app, with routers included (flattened across FastAPI versions)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazy router inclusion: app.routes is already flat
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def permissions(dependant: Dependant) -> set[str]:
    """Permissions demanded by `require(...)` anywhere in a route's dependency tree."""
    found: set[str] = set()
    for sub in dependant.dependencies:
        call = sub.call
        if call is not None and getattr(call, "__qualname__", "").startswith("require.<locals>"):
            found.add(inspect.getclosurevars(call).nonlocals["permission"])
        found |= permissions(sub)
    return found


def derived_table(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """(method, path) -> the permission its dependencies require (None: no key needed)."""
    table: dict[tuple[str, str], str | None] = {}
    for ctx in route_contexts(app):
        path, dependant = ctx.path, getattr(ctx, "dependant", None)
        if dependant is None:
            continue
        found = permissions(dependant)
        assert len(found) <= 1, f"{path} requires several permissions: {found}"
        for method in ctx.methods or ():
            if method != "HEAD":
                table[(method, path)] = next(iter(found), None)
    return table


def test_every_api_route_is_in_the_table(api_stack: Stack) -> None:
    table = derived_table(api_stack.app)  # type: ignore[attr-defined]
    api = {k: v for k, v in table.items() if k[1].startswith(PROTECTED_PREFIXES)}
    public = {k for k in api if PUBLIC_API.match(k[1])}
    assert all(api[k] is None for k in public), "a public webhook route asks for a key"
    protected = {k: v for k, v in api.items() if k not in public}
    unauthenticated = sorted(k for k, v in protected.items() if v is None)
    assert not unauthenticated, f"API routes without require(...): {unauthenticated}"
    assert protected == EXPECTED, (
        "route permissions changed; update EXPECTED if intended. "
        f"new: {sorted(set(protected) - set(EXPECTED))}, "
        f"gone: {sorted(set(EXPECTED) - set(protected))}, "
        f"changed: {sorted(k for k in protected if k in EXPECTED and protected[k] != EXPECTED[k])}"
    )
    granted = set().union(*auth.PERMISSIONS.values())
    assert set(EXPECTED.values()) <= granted, "a route needs a permission no role has"


def test_public_routes_outside_the_api_are_the_listed_ones(api_stack: Stack) -> None:
    table = derived_table(api_stack.app)  # type: ignore[attr-defined]
    for (_, path), permission in table.items():
        if path in PUBLIC_PAGES or path.startswith(PUBLIC_PAGE_PREFIXES):
            assert permission is None, f"{path} is public by design but requires {permission}"


def concrete(path: str) -> str:
    """A template path with each parameter filled in."""
    return re.sub(r"\{[^}]+\}", "x-missing", path)


async def test_each_role_gets_exactly_what_its_permissions_allow(
    api_stack: Stack, role_keys: dict[str, str]
) -> None:
    failures: list[str] = []
    for (method, path), permission in sorted(EXPECTED.items()):
        url = concrete(path)
        body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
        anonymous = await api_stack.http.request(method, url, json=body)
        if anonymous.status_code != 401:
            failures.append(f"{method} {path} without a key: {anonymous.status_code}")
        bad = await api_stack.http.request(
            method, url, json=body, headers={"Authorization": "Bearer oms_nope"}
        )
        if bad.status_code != 401:
            failures.append(f"{method} {path} with a bad key: {bad.status_code}")
        for role, key in role_keys.items():
            response = await api_stack.http.request(
                method, url, json=body, headers=api_stack.headers(key)
            )
            allowed = permission in auth.PERMISSIONS[role]
            if allowed and response.status_code in (401, 403):
                failures.append(f"{method} {path} as {role}: {response.status_code}, expected ok")
            if allowed and response.status_code >= 500:
                failures.append(f"{method} {path} as {role}: {response.status_code}")
            if not allowed and response.status_code != 403:
                failures.append(f"{method} {path} as {role}: {response.status_code}, expected 403")
    assert not failures, "\n".join(failures)


def test_roles_nest_channel_in_ops_in_admin() -> None:
    assert auth.PERMISSIONS["channel"] <= auth.PERMISSIONS["ops"] <= auth.PERMISSIONS["admin"]
    assert "keys:admin" in auth.PERMISSIONS["admin"] - auth.PERMISSIONS["ops"]
