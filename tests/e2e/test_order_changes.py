"""Line cancels and edits of a confirmed order, through the API, the real workflow and stock.

The warehouse is driven by hand so each change lands on a released (not yet shipped) parcel:
it is withdrawn, its label voided, what is left of it planned again; only the difference is
reserved and paid, and what the gateway saw adds up to what shipped.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from sandbox.tables import SandboxPaymentAuthorization
from store.tables import Reservation
from tests.conftest import Stack, canonical_order
from tests.helpers import eventually
from tests.workflows.test_order_workflow import ops
from tests.workflows.test_replay import HISTORIES, _save

LINES = [
    {"line_id": "1", "sku": "TSHIRT-M", "quantity": 3, "unit_price": "20.00"},
    {"line_id": "2", "sku": "MUG-12OZ", "quantity": 1, "unit_price": "16.00"},
]


async def released_order(stack: Stack, **extra: Any) -> dict[str, Any]:
    body = canonical_order(
        lines=extra.pop("lines", LINES), shipping_price="5.00", tax_total="7.60", **extra
    )
    response = await stack.post("/v1/orders", body)
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]

    async def released() -> dict[str, Any] | None:
        order = await stack.order(order_id)
        live = [s for s in order["shipments"] if s["status"] != "cancelled"]
        return order if live and all(s["status"] == "released" for s in live) else None

    return await eventually(released, timeout=60, message="the order was never released")


async def held_units(stack: Stack, order_id: str) -> dict[str, int]:
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Reservation.line_id, func.sum(Reservation.quantity))
            .where(Reservation.order_id == order_id, Reservation.status == "held")
            .group_by(Reservation.line_id)
        )
        return {line: int(n) for line, n in rows.all()}


async def gateway(stack: Stack, order_id: str) -> SandboxPaymentAuthorization:
    async with stack.sandbox_sessions() as session:
        auth = await session.scalar(
            select(SandboxPaymentAuthorization).where(
                SandboxPaymentAuthorization.reference == order_id
            )
        )
        assert auth is not None
        return auth


async def ship_all(stack: Stack, order_id: str) -> dict[str, Any]:
    async def live_released() -> list[str] | None:
        order = await stack.order(order_id)
        live = [s for s in order["shipments"] if s["status"] not in ("cancelled",)]
        if all(s["status"] == "released" for s in live):
            return [s["shipment_id"] for s in live]
        return None

    for sid in await eventually(live_released, timeout=60, message="nothing to ship"):
        response = await stack.post(f"/v1/shipments/{sid}/events", {"type": "shipped"})
        assert response.status_code == 202, response.text
    return await stack.wait_for(order_id, "shipped", "delivered", "completed")


async def record(stack: Stack, order: dict[str, Any], name: str) -> None:
    """With OMS_RECORD_HISTORIES=1, keep the run's history for the replay test."""
    if os.environ.get("OMS_RECORD_HISTORIES"):
        wid = order["workflow_id"]
        await _save(stack.client.get_workflow_handle(wid), wid, HISTORIES / f"{name}.json")


async def test_line_cancel_replans_the_parcel_and_pays_only_what_ships(
    manual_stack: Stack,
) -> None:
    stack = manual_stack
    order = await released_order(stack)
    order_id = order["order_id"]
    assert order["total"] == "88.60"  # 3 x 20 + 16 + 5 shipping + 7.60 tax
    before = {s["shipment_id"] for s in order["shipments"]}

    response = await stack.post(
        f"/v1/orders/{order_id}/lines/cancel",
        {"lines": [{"line_id": "1", "quantity": 1}], "reason": "customer wants 2"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    # Tax follows the merchandise: 7.60 x 56 / 76 = 5.60.
    assert answer["before"]["total"] == "88.60" and answer["after"]["total"] == "66.60"
    assert answer["payment"] == {"action": "capture_less", "amount": "22.00"}
    assert answer["lines"] == [{"line_id": "1", "sku": "TSHIRT-M", "before": 3, "after": 2}]
    changed = answer["order"]
    assert changed["total"] == "66.60"
    line = next(x for x in changed["lines"] if x["line_id"] == "1")
    assert (line["quantity"], line["ordered_quantity"], line["cancelled_quantity"]) == (2, 3, 1)
    event = next(e for e in changed["events"] if e["type"] == "lines_cancelled")
    assert event["detail"]["actor"]["role"] == "admin"
    assert event["detail"]["replanned"]
    # The parcel holding the line was withdrawn and voided; only the rest is held again.
    replanned = set(event["detail"]["replanned"])
    assert replanned <= before
    for s in changed["shipments"]:
        if s["shipment_id"] in replanned:
            assert s["status"] == "cancelled" and s["label_voided"]
    assert await held_units(stack, order_id) == {"1": 2, "2": 1}

    done = await ship_all(stack, order_id)
    auth = await gateway(stack, order_id)
    assert Decimal(auth.captured_cents) / 100 == Decimal("66.60")
    assert done["status"] in ("shipped", "delivered", "completed")
    # One capture for the one parcel that left; the rest of the authorization released.
    await eventually(
        lambda: ops(stack, order_id),
        until=lambda seen: seen == ["authorize", "capture", "void"],
        timeout=60,
    )
    await record(stack, done, "order_lines_cancelled_20261203")


async def test_edit_adds_a_line_and_authorizes_only_the_difference(manual_stack: Stack) -> None:
    stack = manual_stack
    order = await released_order(stack)
    order_id = order["order_id"]
    untouched = {s["shipment_id"] for s in order["shipments"]}
    edit = {
        "add": [{"line_id": "3", "sku": "TSHIRT-L", "quantity": 1, "unit_price": "20.00"}],
        "preview": True,
    }
    preview = await stack.post(f"/v1/orders/{order_id}/edit", edit)
    assert preview.status_code == 200, preview.text
    seen = preview.json()
    assert seen["preview"] and seen["payment"]["action"] == "authorize"
    assert (await stack.order(order_id))["total"] == "88.60"  # a preview changes nothing

    confirmed = await stack.post(
        f"/v1/orders/{order_id}/edit",
        {**edit, "preview": False},
    )
    assert confirmed.status_code == 200, confirmed.text
    made = confirmed.json()
    for field in ("before", "after", "payment", "lines"):
        assert made[field] == seen[field], field
    assert made["replanned"] == []  # nothing taken off: the released parcels go on
    assert {s["shipment_id"] for s in made["order"]["shipments"]} > untouched
    auth = await gateway(stack, order_id)
    assert Decimal(auth.amount_cents) / 100 == Decimal(made["after"]["total"])
    assert (await ops(stack, order_id))[:2] == ["authorize", "increment"]

    await ship_all(stack, order_id)
    auth = await gateway(stack, order_id)
    assert Decimal(auth.captured_cents) / 100 == Decimal(made["after"]["total"])
    await record(stack, made["order"], "order_edited_20261203")


async def test_cancelling_every_open_unit_cancels_the_order(manual_stack: Stack) -> None:
    stack = manual_stack
    order = await released_order(stack)
    order_id = order["order_id"]
    response = await stack.post(
        f"/v1/orders/{order_id}/lines/cancel",
        {"lines": [{"line_id": "1", "quantity": 3}, {"line_id": "2", "quantity": 1}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["order"]["status"] == "cancelled"  # answered once it took effect
    done = await stack.wait_for(order_id, "cancelled")
    assert await held_units(stack, order_id) == {}
    assert [p["kind"] for p in done["payments"]] == ["authorization", "void"]


async def test_units_that_shipped_cannot_be_cancelled(manual_stack: Stack) -> None:
    stack = manual_stack
    order = await released_order(stack, lines=LINES[:1])
    order_id = order["order_id"]
    await ship_all(stack, order_id)
    response = await stack.post(
        f"/v1/orders/{order_id}/lines/cancel", {"lines": [{"line_id": "1", "quantity": 1}]}
    )
    assert response.status_code == 409, response.text
    assert "shipped" in response.json()["message"]


async def test_bad_changes_name_the_field(manual_stack: Stack) -> None:
    stack = manual_stack
    order = await released_order(stack)
    order_id = order["order_id"]
    cases = [
        ("lines/cancel", {"lines": [{"line_id": "9", "quantity": 1}]}, "lines[0].line_id"),
        ("lines/cancel", {"lines": [{"line_id": "1", "quantity": 4}]}, "lines[0].quantity"),
        ("edit", {"remove": ["7"]}, "remove[0]"),
        (
            "edit",
            {"add": [{"line_id": "1", "sku": "TSHIRT-M", "quantity": 1, "unit_price": "1.00"}]},
            "add[0].line_id",
        ),
        (
            "edit",
            {"add": [{"line_id": "5", "sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]},
            "add[0].sku",
        ),
        ("edit", {}, "add"),
    ]
    for path, body, field in cases:
        response = await stack.post(f"/v1/orders/{order_id}/{path}", body)
        assert response.status_code == 422, (path, body, response.text)
        assert field in response.text, (field, response.text)
    assert (await stack.order(order_id))["total"] == "88.60"


async def test_the_same_idempotency_key_changes_once(manual_stack: Stack) -> None:
    stack = manual_stack
    order = await released_order(stack)
    order_id = order["order_id"]
    body = {"lines": [{"line_id": "1", "quantity": 1}]}
    headers = {**stack.headers(), "Idempotency-Key": "ops-ticket-17"}
    first = await stack.http.post(f"/v1/orders/{order_id}/lines/cancel", json=body, headers=headers)
    again = await stack.http.post(f"/v1/orders/{order_id}/lines/cancel", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["after"] == again.json()["after"]
    line = next(x for x in (await stack.order(order_id))["lines"] if x["line_id"] == "1")
    assert line["quantity"] == 2


async def test_an_invoice_order_edit_moves_the_receivable(manual_stack: Stack) -> None:
    stack = manual_stack
    order = await released_order(stack, payment={"method": "invoice", "terms_days": 30})
    order_id = order["order_id"]
    added = {"line_id": "3", "sku": "TSHIRT-L", "quantity": 1, "unit_price": "20.00"}
    response = await stack.post(f"/v1/orders/{order_id}/edit", {"add": [added]})
    assert response.status_code == 200, response.text
    made = response.json()
    assert made["payment"]["action"] == "invoice"
    total = made["after"]["total"]
    await ship_all(stack, order_id)

    async def account() -> dict[str, Any] | None:
        listed = (await stack.get("/v1/receivables")).json()["items"]
        found = next((r for r in listed if r["order_id"] == order_id), None)
        return found if found and found["invoiced"] == total else None

    settled = await eventually(account, timeout=60, message="the parcels were never invoiced")
    assert settled["expected"] == total
    async with stack.sandbox_sessions() as session:
        charged = await session.scalar(
            select(func.count()).where(SandboxPaymentAuthorization.reference == order_id)
        )
    assert charged == 0  # no card was ever touched
