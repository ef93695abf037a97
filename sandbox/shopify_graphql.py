"""Executing the GraphQL Admin operations our client sends, against a `ShopifyShop`.

No GraphQL engine: a small tokenizer finds the operation type, its root fields, their
arguments (variables or literals) and directives; each root field has a handler that answers
with the whole object (a superset of any selection). Errors are shaped as Shopify shapes them:
top-level `errors` for a malformed or unknown operation, `userErrors` inside a mutation
payload for a refused change.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.shopify_render import calculated_line, calculated_order, gid
from sandbox.shopify_state import ShopError, ShopifyShop, id_of, parse_time

TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*")|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<var>\$[_A-Za-z]\w*)'
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<punct>[{}()\[\]:!=@,]|\.\.\.)|(?P<skip>\s+|#[^\n]*)"
)
# Versions from which `inventorySetQuantities` needs `@idempotent(key:)` and an explicit
# `changeFromQuantity` per quantity (Shopify's 2026-04 release notes).
STRICT_INVENTORY_FROM = "2026-04"


class GraphQLError(Exception):
    """A top-level GraphQL error (`errors: [{message, extensions: {code}}]`)."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class RootField:
    """One root selection: `name(args) @directive(args) { ... }`."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    directives: dict[str, dict[str, Any]] = field(default_factory=dict)


def tokenize(document: str) -> list[str]:
    """The tokens of a document (comments and whitespace dropped)."""
    tokens, pos = [], 0
    while pos < len(document):
        match = TOKEN.match(document, pos)
        if match is None:
            raise GraphQLError(f"Parse error on {document[pos : pos + 10]!r}", "PARSE_ERROR")
        if match.lastgroup != "skip":
            tokens.append(match.group())
        pos = match.end()
    return tokens


def parse(document: str, variables: dict[str, Any]) -> tuple[str, list[RootField]]:
    """The operation type and its root fields, arguments resolved from `variables`."""
    tokens = tokenize(document)
    if not tokens:
        raise GraphQLError("No operation given", "PARSE_ERROR")
    kind, i = "query", 0
    if tokens[0] in ("query", "mutation", "subscription"):
        kind, i = tokens[0], 1
        if i < len(tokens) and tokens[i] not in ("(", "{", "@"):
            i += 1  # the operation name
        if i < len(tokens) and tokens[i] == "(":
            i = _skip(tokens, i, "(", ")")  # variable definitions
    if i >= len(tokens) or tokens[i] != "{":
        raise GraphQLError("Expected a selection set", "PARSE_ERROR")
    roots, i = [], i + 1
    while i < len(tokens) and tokens[i] != "}":
        name = tokens[i]
        i += 1
        if i < len(tokens) and tokens[i] == ":":  # an alias: keep the field name
            name, i = tokens[i + 1], i + 2
        root = RootField(name)
        if i < len(tokens) and tokens[i] == "(":
            root.args, i = _arguments(tokens, i, variables)
        while i < len(tokens) and tokens[i] == "@":
            directive = tokens[i + 1]
            i += 2
            args: dict[str, Any] = {}
            if i < len(tokens) and tokens[i] == "(":
                args, i = _arguments(tokens, i, variables)
            root.directives[directive] = args
        if i < len(tokens) and tokens[i] == "{":
            i = _skip(tokens, i, "{", "}")
        roots.append(root)
    return kind, roots


def _skip(tokens: list[str], i: int, open_: str, close: str) -> int:
    depth = 0
    while i < len(tokens):
        depth += tokens[i] == open_
        depth -= tokens[i] == close
        i += 1
        if depth == 0:
            return i
    raise GraphQLError(f"Unbalanced {open_}", "PARSE_ERROR")


def _arguments(tokens: list[str], i: int, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """`(name: value, ...)` with flat values (variables, scalars, enums)."""
    args: dict[str, Any] = {}
    i += 1
    while tokens[i] != ")":
        if tokens[i] == ",":
            i += 1
            continue
        name, value = tokens[i], tokens[i + 2]
        if value.startswith("$"):
            args[name] = variables.get(value[1:])
        elif value.startswith('"'):
            args[name] = value[1:-1]
        elif value in ("true", "false"):
            args[name] = value == "true"
        elif value == "null":
            args[name] = None
        elif re.fullmatch(r"-?\d+", value):
            args[name] = int(value)
        else:
            args[name] = value  # an enum
        i += 3
    return args, i + 1


# ---- execution ---------------------------------------------------------------------------------


Handler = Callable[["Executor", RootField], Any]
QUERIES: dict[str, Handler] = {}
MUTATIONS: dict[str, Handler] = {}


def _query(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        QUERIES[name] = fn
        return fn

    return register


def _mutation(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        MUTATIONS[name] = fn
        return fn

    return register


def requested_cost(kind: str, roots: list[RootField]) -> int:
    """Shopify's estimate: 10 per mutation; a connection 2 + `first`; an object 1."""
    cost = 0
    for root in roots:
        if kind == "mutation":
            cost += 10
        elif "first" in root.args:
            cost += 2 + int(root.args.get("first") or 0)
        else:
            cost += 1
    return cost


@dataclass
class Executor:
    """Runs one parsed operation against the shop."""

    shop: ShopifyShop
    api_version: str
    nodes_returned: int = 0

    def run(self, kind: str, roots: list[RootField]) -> dict[str, Any]:
        """`data` for the operation (top-level problems raise `GraphQLError`)."""
        table = MUTATIONS if kind == "mutation" else QUERIES
        data: dict[str, Any] = {}
        for root in roots:
            handler = table.get(root.name)
            if handler is None:
                where = "Mutation" if kind == "mutation" else "QueryRoot"
                raise GraphQLError(
                    f"Field '{root.name}' doesn't exist on type '{where}'", "undefinedField"
                )
            data[root.name] = handler(self, root)
        return data

    def page(self, items: list[dict[str, Any]], root: RootField) -> dict[str, Any]:
        """A connection page (`nodes`, `pageInfo`) with an opaque offset cursor."""
        first = int(root.args.get("first") or 50)
        if first > 250:
            raise GraphQLError("The 'first' argument can't exceed 250.", "BAD_REQUEST")
        after = root.args.get("after")
        try:
            start = int(base64.b64decode(after).decode().split(":")[1]) if after else 0
        except (ValueError, IndexError) as err:
            raise GraphQLError(f"Invalid cursor for current pagination sort: {after}") from err
        chunk = items[start : start + first]
        self.nodes_returned += len(chunk)
        end = start + len(chunk)
        return {
            "nodes": chunk,
            "pageInfo": {
                "hasNextPage": end < len(items),
                "endCursor": base64.b64encode(f"offset:{end}".encode()).decode() if chunk else None,
            },
        }


def _user_errors(err: ShopError) -> list[dict[str, Any]]:
    return [{"field": err.field, "message": err.message, "code": err.code}]


@_query("productVariants")
def _variants(ex: Executor, root: RootField) -> dict[str, Any]:
    state = ex.shop.state
    nodes = [
        {
            "id": gid("ProductVariant", v["id"]),
            "sku": v["sku"],
            "barcode": v["barcode"],
            "title": v["title"],
            "displayName": f"{v['product_title']} - {v['title']}",
            "product": {"id": gid("Product", v["product_id"]), "title": v["product_title"]},
            "inventoryItem": {"id": gid("InventoryItem", v["inventory_item_id"])},
        }
        for v in state["variants"].values()
    ]
    return ex.page(nodes, root)


@_query("locations")
def _locations(ex: Executor, root: RootField) -> dict[str, Any]:
    nodes = [
        {"id": gid("Location", loc["id"]), "name": loc["name"]}
        for loc in ex.shop.state["locations"].values()
    ]
    return ex.page(nodes, root)


@_query("webhookSubscriptions")
def _webhooks(ex: Executor, root: RootField) -> dict[str, Any]:
    nodes = [
        {"id": gid("WebhookSubscription", w["id"]), "topic": w["topic"], "uri": w["uri"]}
        for w in ex.shop.state["webhooks"].values()
    ]
    return ex.page(nodes, root)


@_query("order")
def _order(ex: Executor, root: RootField) -> dict[str, Any] | None:
    try:
        return ex.shop.graphql_order(ex.shop.order(root.args.get("id")))
    except ShopError:
        return None  # Shopify answers `order: null` for an unknown id


ORDER_FILTER = re.compile(r"updated_at:(>=|>|<=|<)'?([0-9T:\-+.Z]+)'?")


@_query("orders")
def _orders(ex: Executor, root: RootField) -> dict[str, Any]:
    orders = list(ex.shop.state["orders"].values())
    for op, stamp in ORDER_FILTER.findall(str(root.args.get("query") or "")):
        bound = parse_time(stamp)

        def keep(o: dict[str, Any], op: str = op, bound: Any = bound) -> bool:
            t = parse_time(o["updated_at"])
            return {">=": t >= bound, ">": t > bound, "<=": t <= bound, "<": t < bound}[op]

        orders = [o for o in orders if keep(o)]
    key = "updated_at" if root.args.get("sortKey") == "UPDATED_AT" else "created_at"
    orders.sort(key=lambda o: (parse_time(o[key]), o["id"]), reverse=bool(root.args.get("reverse")))
    return ex.page([ex.shop.graphql_order(o) for o in orders], root)


@_mutation("webhookSubscriptionCreate")
def _webhook_create(ex: Executor, root: RootField) -> dict[str, Any]:
    spec = root.args.get("webhookSubscription") or {}
    topic, uri = root.args.get("topic"), spec.get("uri") or spec.get("callbackUrl")
    if not uri or not str(uri).startswith(("http://", "https://")):
        err = ShopError(["webhookSubscription", "uri"], "Address is invalid")
        return {"webhookSubscription": None, "userErrors": _user_errors(err)}
    state = ex.shop.state
    if any(w["topic"] == topic and w["uri"] == uri for w in state["webhooks"].values()):
        err = ShopError(
            ["webhookSubscription", "uri"], "Address for this topic has already been taken"
        )
        return {"webhookSubscription": None, "userErrors": _user_errors(err)}
    ref = ex.shop._id()
    state["webhooks"][str(ref)] = {
        "id": ref,
        "topic": topic,
        "uri": uri,
        "format": spec.get("format", "JSON"),
    }
    ex.shop.save()
    return {
        "webhookSubscription": {"id": gid("WebhookSubscription", ref), "topic": topic, "uri": uri},
        "userErrors": [],
    }


@_mutation("inventorySetQuantities")
def _inventory_set(ex: Executor, root: RootField) -> dict[str, Any]:
    strict = ex.api_version >= STRICT_INVENTORY_FROM  # `unstable` sorts after every release
    key = (root.directives.get("idempotent") or {}).get("key")
    if strict and not key:
        raise GraphQLError(
            "The @idempotent directive is required for this mutation.", "IDEMPOTENCY_KEY_REQUIRED"
        )
    if key and key in ex.shop.state["idempotency"]:
        return ex.shop.state["idempotency"][key]  # type: ignore[no-any-return]
    spec = root.args.get("input") or {}
    try:
        if spec.get("name") not in ("available", "on_hand"):
            raise ShopError(
                ["input", "name"],
                "The quantity name must be 'available' or 'on_hand'.",
                "INVALID_NAME",
            )
        if not spec.get("reason"):
            raise ShopError(["input", "reason"], "The reason is required.", "INVALID_REASON")
        changes, staged = [], []
        for n, q in enumerate(spec.get("quantities") or []):
            where = ["input", "quantities", str(n)]
            if strict and "changeFromQuantity" not in q:
                raise ShopError(
                    [*where, "changeFromQuantity"], "changeFromQuantity is required.", "INVALID"
                )
            item = id_of(q.get("inventoryItemId"), "InventoryItem")
            location = id_of(q.get("locationId"), "Location")
            current = ex.shop.level(item, location)
            expected = q.get("changeFromQuantity")
            if expected is not None and expected != current:
                raise ShopError(
                    [*where, "changeFromQuantity"],
                    "The specified compare quantity does not match the current quantity.",
                    "CHANGE_FROM_QUANTITY_STALE",
                )
            staged.append((item, location, int(q["quantity"])))
        for item, location, quantity in staged:
            delta = ex.shop.set_level(item, location, quantity)
            changes.append({"name": spec["name"], "delta": delta})
    except ShopError as err:
        return {"inventoryAdjustmentGroup": None, "userErrors": _user_errors(err)}
    ex.shop.save()
    answer = {
        "inventoryAdjustmentGroup": {"reason": spec["reason"], "changes": changes},
        "userErrors": [],
    }
    if key:
        ex.shop.state["idempotency"][key] = answer
    return answer


@_mutation("fulfillmentCreate")
def _fulfillment_create(ex: Executor, root: RootField) -> dict[str, Any]:
    spec = root.args.get("fulfillment") or {}
    try:
        made = ex.shop.fulfil(
            spec.get("lineItemsByFulfillmentOrder") or [],
            spec.get("trackingInfo") or {},
            bool(spec.get("notifyCustomer")),
        )
    except ShopError as err:
        return {"fulfillment": None, "userErrors": [{"field": err.field, "message": err.message}]}
    return {
        "fulfillment": {
            "id": gid("Fulfillment", made["id"]),
            "status": made["status"],
            "trackingInfo": made["tracking"],
        },
        "userErrors": [],
    }


@_mutation("orderCancel")
def _order_cancel(ex: Executor, root: RootField) -> dict[str, Any]:
    reasons = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER")
    try:
        if root.args.get("reason") not in reasons:
            raise ShopError(["reason"], f"Reason must be one of {', '.join(reasons)}", "INVALID")
        if root.args.get("refundMethod") is None and root.args.get("refund") is None:
            raise ShopError(["refundMethod"], "A refund method is required", "INVALID")
        ex.shop.cancel(
            root.args.get("orderId"), str(root.args["reason"]), root.args.get("staffNote")
        )
    except ShopError as err:
        errors = _user_errors(err)
        return {"job": None, "orderCancelUserErrors": errors, "userErrors": errors}
    job = {"id": gid("Job", str(uuid.uuid4())), "done": True}
    return {"job": job, "orderCancelUserErrors": [], "userErrors": []}


@_mutation("orderUpdate")
def _order_update(ex: Executor, root: RootField) -> dict[str, Any]:
    spec = root.args.get("input") or {}
    try:
        order = ex.shop.order(spec.get("id"))
        if "note" in spec:
            order = ex.shop.set_note(order["id"], spec["note"] or "")
    except ShopError as err:
        return {"order": None, "userErrors": [{"field": ["id"], "message": err.message}]}
    return {"order": {"id": gid("Order", order["id"]), "note": order["note"]}, "userErrors": []}


# ---- order editing: begin, set quantities, commit ----------------------------------------------


def _plain_errors(err: ShopError) -> list[dict[str, Any]]:
    """`UserError` (field and message), as the order-editing mutations answer."""
    return [{"field": err.field, "message": err.message}]


def _calculated(ex: Executor, session: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    fulfilled = {li["id"]: ex.shop.fulfilled_units(order, li["id"]) for li in order["line_items"]}
    return calculated_order(order, session, fulfilled)


@_mutation("orderEditBegin")
def _order_edit_begin(ex: Executor, root: RootField) -> dict[str, Any]:
    try:
        session = ex.shop.begin_edit(root.args.get("id"))
    except ShopError as err:
        return {"calculatedOrder": None, "orderEditSession": None, "userErrors": _plain_errors(err)}
    order = ex.shop.order(session["order_id"])
    return {
        "calculatedOrder": _calculated(ex, session, order),
        "orderEditSession": {"id": gid("OrderEditSession", session["id"])},
        "userErrors": [],
    }


@_mutation("orderEditSetQuantity")
def _order_edit_set_quantity(ex: Executor, root: RootField) -> dict[str, Any]:
    args = root.args
    try:
        quantity = args.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise GraphQLError(
                f"Variable $quantity of type Int! was provided invalid value: {quantity!r}",
                "INVALID_VARIABLE",
            )
        session, order, line = ex.shop.stage_quantity(
            args.get("id"), args.get("lineItemId"), quantity, bool(args.get("restock"))
        )
    except ShopError as err:
        return {
            "calculatedLineItem": None,
            "calculatedOrder": None,
            "orderEditSession": None,
            "userErrors": _plain_errors(err),
        }
    fulfilled = ex.shop.fulfilled_units(order, line["id"])
    return {
        "calculatedLineItem": calculated_line(line, session, fulfilled),
        "calculatedOrder": _calculated(ex, session, order),
        "orderEditSession": {"id": gid("OrderEditSession", session["id"])},
        "userErrors": [],
    }


@_mutation("orderEditCommit")
def _order_edit_commit(ex: Executor, root: RootField) -> dict[str, Any]:
    args = root.args
    try:
        order = ex.shop.commit_edit(
            args.get("id"), bool(args.get("notifyCustomer")), args.get("staffNote")
        )
    except ShopError as err:
        return {"order": None, "successMessages": [], "userErrors": _plain_errors(err)}
    return {
        "order": ex.shop.graphql_order(order),
        "successMessages": ["Order updated"],
        "userErrors": [],
    }
