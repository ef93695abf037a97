"""The order workflow end to end: real Temporal dev server, real HTTP through the app, sandboxes."""

from __future__ import annotations

from typing import Any

from pypdf import PdfReader
from sqlalchemy import func, select

from domain.models import CanonicalOrder, order_id_for, workflow_id_for
from sandbox.tables import (
    SandboxLabel,
    SandboxPaymentAuthorization,
    SandboxPaymentOperation,
    SandboxWarehouseRelease,
)
from store.tables import Order, Reservation, StockLevel
from tests.conftest import Stack, canonical_order


async def reserved_units(stack: Stack, sku: str) -> int:
    async with stack.sessions() as session:
        total = await session.scalar(
            select(func.sum(StockLevel.reserved)).where(StockLevel.sku == sku)
        )
        return int(total or 0)


async def ops(stack: Stack, order_id: str) -> list[str]:
    """Gateway operations seen for the order's authorization, oldest first."""
    async with stack.sandbox_sessions() as session:
        auth = await session.scalar(
            select(SandboxPaymentAuthorization).where(
                SandboxPaymentAuthorization.reference == order_id
            )
        )
        if auth is None:
            return []
        rows = await session.scalars(
            select(SandboxPaymentOperation.kind)
            .where(SandboxPaymentOperation.authorization_id == auth.authorization_id)
            .order_by(SandboxPaymentOperation.id)
        )
        return list(rows)


async def labels(stack: Stack, order: dict[str, Any]) -> list[SandboxLabel]:
    refs = [s["shipment_id"] for s in order["shipments"]]
    async with stack.sandbox_sessions() as session:
        rows = await session.scalars(select(SandboxLabel).where(SandboxLabel.reference.in_(refs)))
        return list(rows)


async def create(stack: Stack, **overrides: Any) -> str:
    response = await stack.post("/v1/orders", canonical_order(**overrides))
    assert response.status_code == 202, response.text
    return response.json()["order_id"]  # type: ignore[no-any-return]


async def test_happy_path_reaches_delivered_then_completed(stack: Stack) -> None:
    before = await reserved_units(stack, "TSHIRT-M")
    order_id = await create(stack)
    order = await stack.wait_for(order_id, "delivered", "completed")
    [shipment] = order["shipments"]
    assert shipment["carrier"] and shipment["tracking_number"] and shipment["label_url"]
    assert shipment["status"] == "delivered"
    assert [p["kind"] for p in order["payments"]] == ["authorization", "capture"]
    assert order["payments"][1]["amount"] == order["total"] == "39.98"
    types = [e["type"] for e in order["events"]]
    for expected in (
        "received",
        "payment_authorized",
        "routed",
        "label_purchased",
        "released_to_location",
        "shipped",
        "payment_captured",
        "delivered",
    ):
        assert expected in types, types
    assert order["routing"]["explanation"]
    # The label is a real PDF carrying the tracking number.
    label = await stack.get(shipment["label_url"].removeprefix("http://oms.test"))
    assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"
    from io import BytesIO

    text = "".join(p.extract_text() for p in PdfReader(BytesIO(label.content)).pages)
    assert shipment["tracking_number"] in text.replace(" ", "")
    # Stock left the books, nothing is still held, and the order completes after the window.
    assert await reserved_units(stack, "TSHIRT-M") == before
    done = await stack.wait_for(order_id, "completed")
    assert done["status"] == "completed"
    assert await ops(stack, order_id) == ["authorize", "capture"]
    # Engineers find the decisions by name in the history (`temporal workflow show`): payment,
    # routing, reservation, label and tracking are activities, not opaque local markers.
    history = await stack.client.get_workflow_handle(done["workflow_id"]).fetch_history()
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    for step in ("authorize_payment", "route_order", "reserve_stock", "buy_label", "poll_tracking"):
        assert step in scheduled, scheduled


async def test_duplicate_submission_returns_same_order_and_starts_nothing(stack: Stack) -> None:
    body = canonical_order()
    first = await stack.post("/v1/orders", body)
    second = await stack.post("/v1/orders", body)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["order_id"] == second.json()["order_id"]
    assert first.json()["workflow_id"] == f"order-web-{body['external_id']}"
    order = await stack.wait_for(first.json()["order_id"], "delivered", "completed")
    assert await ops(stack, order["order_id"]) == ["authorize", "capture"]


async def test_an_order_stored_but_never_started_is_started_by_the_repeat(stack: Stack) -> None:
    """The API died between storing the order and starting its workflow; the channel retries."""
    body = canonical_order()
    order = CanonicalOrder.model_validate(body)
    async with stack.sessions.begin() as session:
        session.add(
            Order(
                order_id=order_id_for("web", order.external_id),
                channel="web",
                external_id=order.external_id,
                workflow_id=workflow_id_for("web", order.external_id),
                currency=order.currency,
                total=order.total,
                document=order.model_dump(mode="json"),
            )
        )
    again = await stack.post("/v1/orders", body)
    assert again.status_code == 200, again.text
    done = await stack.wait_for(again.json()["order_id"], "delivered", "completed")
    # The running workflow marked its row: a repeat after Temporal's retention starts nothing.
    async with stack.sessions() as session:
        row = await session.get(Order, done["order_id"])
    assert row is not None and row.workflow_started


async def test_declined_card_fails_without_holding_stock(stack: Stack) -> None:
    before = await reserved_units(stack, "TSHIRT-M")
    order_id = await create(stack, payment={"method": "card", "token": "tok_chargeDeclined"})
    order = await stack.wait_for(order_id, "failed")
    assert "PaymentDeclined" in order["failure_reason"]
    assert await reserved_units(stack, "TSHIRT-M") == before
    async with stack.sessions() as session:
        held = await session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.order_id == order_id)
        )
    assert held == 0
    assert order["shipments"] == []


async def test_cancel_before_label_voids_the_authorization(stack: Stack) -> None:
    # JACKET-M is stocked only in the east; 500 units cannot be had, so the order backorders.
    order_id = await create(
        stack, lines=[{"line_id": "1", "sku": "JACKET-M", "quantity": 500, "unit_price": "129"}]
    )
    await stack.wait_for(order_id, "backordered")
    response = await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "customer asked"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert await ops(stack, order_id) == ["authorize", "void"]
    assert response.json()["shipments"] == []


async def test_cancel_after_label_compensates_everything(manual_stack: Stack) -> None:
    stack = manual_stack
    before = await reserved_units(stack, "TSHIRT-M")
    order_id = await create(stack)
    order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    assert await reserved_units(stack, "TSHIRT-M") == before + 2
    response = await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "fraud review"})
    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "cancelled"
    types = [e["type"] for e in order["events"]]
    for expected in ("release_withdrawn", "label_voided", "stock_released", "payment_voided"):
        assert expected in types, types
    [label] = await labels(stack, order)
    assert label.voided_at is not None
    async with stack.sandbox_sessions() as session:
        release = await session.scalar(
            select(SandboxWarehouseRelease).where(SandboxWarehouseRelease.order_id == order_id)
        )
    assert release is not None and release.cancelled_at is not None
    assert await reserved_units(stack, "TSHIRT-M") == before
    assert await ops(stack, order_id) == ["authorize", "void"]
    # A second cancel is refused with the reason.
    again = await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "again"})
    assert again.status_code == 409 and "cancelled" in again.json()["message"]


async def test_hold_and_release(manual_stack: Stack) -> None:
    stack = manual_stack
    order_id = await create(stack)
    order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    held = await stack.post(f"/v1/orders/{order_id}/hold", {"reason": "address check"})
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "on_hold"
    twice = await stack.post(f"/v1/orders/{order_id}/hold", {"reason": "again"})
    assert twice.status_code == 409 and "already on hold" in twice.json()["message"]
    await stack.wait_shipment(order_id, lambda s: s["status"] == "label_purchased")
    released = await stack.post(f"/v1/orders/{order_id}/release", {"reason": "ok"})
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "in_fulfillment"
    order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    shipment_id = order["shipments"][0]["shipment_id"]
    shipped = await stack.post(f"/v1/shipments/{shipment_id}/events", {"type": "shipped"})
    assert shipped.status_code == 202, shipped.text
    order = await stack.wait_for(order_id, "delivered", "completed")
    assert await ops(stack, order_id) == ["authorize", "capture"]
    release_again = await stack.post(f"/v1/orders/{order_id}/release", {"reason": "x"})
    assert release_again.status_code == 409


async def test_address_change_allowed_before_label_refused_after(manual_stack: Stack) -> None:
    stack = manual_stack
    new_address = {
        "name": "Ann Lee",
        "line1": "9 Elm St",
        "city": "Boston",
        "region": "MA",
        "postal_code": "02108",
        "country": "US",
    }
    waiting = await create(
        stack, lines=[{"line_id": "1", "sku": "JACKET-M", "quantity": 999, "unit_price": "129"}]
    )
    await stack.wait_for(waiting, "backordered")
    changed = await stack.post(f"/v1/orders/{waiting}/address", {"ship_to": new_address})
    assert changed.status_code == 200, changed.text
    assert changed.json()["ship_to"]["city"] == "Boston"
    bad = await stack.post(
        f"/v1/orders/{waiting}/address", {"ship_to": {**new_address, "postal_code": "ABC"}}
    )
    assert bad.status_code == 422 and "postal_code" in bad.json()["message"]

    order_id = await create(stack)
    await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    refused = await stack.post(f"/v1/orders/{order_id}/address", {"ship_to": new_address})
    assert refused.status_code == 409
    assert "label" in refused.json()["message"]
    await stack.post(f"/v1/orders/{waiting}/cancel", {"reason": "cleanup"})
    await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "cleanup"})
