"""Returns end to end: real Temporal dev server, the app over HTTP, sandbox carriers and gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import Client

from tests.conftest import Stack, canonical_order, running_stack
from tests.workflows.returns.conftest import delivered_order, movements, on_hand, wait_rma
from tests.workflows.test_order_workflow import ops

TAXED = {"shipping_price": "5.00", "tax_total": "3.20"}  # total 48.18 for 2 x 19.99


async def request(stack: Stack, order_id: str, *lines: dict[str, Any]) -> dict[str, Any]:
    response = await stack.post(f"/v1/orders/{order_id}/returns", {"lines": list(lines)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"rma_id", "status", "label_url"}
    return body  # type: ignore[no-any-return]


async def receive(stack: Stack, rma_id: str, *lines: dict[str, Any]) -> dict[str, Any]:
    response = await stack.post(f"/v1/returns/{rma_id}/receive", {"lines": list(lines)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_partial_return_in_new_condition_restocks_and_refunds_the_line_share(
    returns_stack: Stack,
) -> None:
    stack = returns_stack
    order = await delivered_order(stack, **TAXED)
    order_id, [shipment] = order["order_id"], order["shipments"]
    location = shipment["location_id"]
    before = await on_hand(stack, "TSHIRT-M", location)

    rma = await request(stack, order_id, {"line_id": "1", "quantity": 1, "reason": "too_small"})
    assert rma["rma_id"] == f"RMA-{order_id}-1" and rma["status"] == "label_issued"
    label = await stack.get(rma["label_url"].removeprefix("http://oms.test"))
    assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"

    inspected = await receive(
        stack, rma["rma_id"], {"line_id": "1", "quantity": 1, "condition": "new"}
    )
    assert inspected["lines"][0]["disposition"] == "restock"
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    # 19.99 of merchandise plus its half of the 3.20 tax; shipping stays (not a whole return).
    assert closed["refund_amount"] == "21.59"
    assert closed["lines"][0]["reason"] == "too_small"

    done = await stack.wait_for(order_id, "partially_returned")
    refunds = [p for p in done["payments"] if p["kind"] == "refund"]
    assert [(p["amount"], p["reference"]) for p in refunds] == [("21.59", rma["rma_id"])]
    assert await ops(stack, order_id) == ["authorize", "capture", "refund"]
    requested = [e for e in done["events"] if e["type"] == "return_requested"]
    assert requested[0]["detail"]["reason"] == "too_small"
    assert requested[0]["detail"]["sku"] == "TSHIRT-M"
    # The unit is back in available stock where it was received.
    assert await on_hand(stack, "TSHIRT-M", location) == before + 1
    [movement] = await movements(stack, "TSHIRT-M", location, "return")
    assert movement.on_hand_delta == 1 and rma["rma_id"] in movement.reason

    listed = await stack.get(f"/v1/returns?status=closed&order_id={order_id}")
    assert [r["rma_id"] for r in listed.json()["items"]] == [rma["rma_id"]]
    # The other unit can still come back, but not two more.
    again = await stack.post(
        f"/v1/orders/{order_id}/returns",
        {"lines": [{"line_id": "1", "quantity": 2, "reason": "other"}]},
    )
    assert again.status_code == 409 and "only 1 unit(s)" in again.json()["message"]


async def test_damaged_unit_is_written_off_not_restocked(returns_stack: Stack) -> None:
    stack = returns_stack
    order = await delivered_order(stack)
    order_id, location = order["order_id"], order["shipments"][0]["location_id"]
    before = await on_hand(stack, "TSHIRT-M", location)
    rma = await request(stack, order_id, {"line_id": "1", "quantity": 1, "reason": "defective"})
    inspected = await receive(
        stack, rma["rma_id"], {"line_id": "1", "quantity": 1, "condition": "damaged"}
    )
    assert inspected["lines"][0]["disposition"] == "write_off"
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    assert closed["refund_amount"] == "19.99"
    assert await on_hand(stack, "TSHIRT-M", location) == before
    assert await movements(stack, "TSHIRT-M", location, "return") == []
    [written_off] = await movements(stack, "TSHIRT-M", location, "write_off")
    assert written_off.on_hand_delta == 0
    await stack.wait_for(order_id, "partially_returned")


async def test_whole_order_return_refunds_everything_including_shipping(
    returns_stack: Stack,
) -> None:
    stack = returns_stack
    order = await delivered_order(stack, **TAXED)
    order_id = order["order_id"]
    rma = await request(stack, order_id, {"line_id": "1", "quantity": 2, "reason": "changed_mind"})
    await receive(stack, rma["rma_id"], {"line_id": "1", "quantity": 2, "condition": "opened"})
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    assert closed["refund_amount"] == "48.18"
    assert closed["lines"][0]["disposition"] == "refurbish"
    done = await stack.wait_for(order_id, "returned")
    assert [p["amount"] for p in done["payments"] if p["kind"] == "refund"] == ["48.18"]
    refused = await stack.post(
        f"/v1/orders/{order_id}/returns",
        {"lines": [{"line_id": "1", "quantity": 1, "reason": "other"}]},
    )
    assert refused.status_code == 409


async def test_exchange_for_same_price_ships_a_replacement_and_refunds_nothing(
    returns_stack: Stack,
) -> None:
    stack = returns_stack
    order = await delivered_order(stack)
    order_id = order["order_id"]
    rma = await request(
        stack,
        order_id,
        {"line_id": "1", "quantity": 1, "reason": "wrong_size", "exchange_sku": "TSHIRT-L"},
    )
    await receive(stack, rma["rma_id"], {"line_id": "1", "quantity": 1, "condition": "new"})
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    assert closed["refund_amount"] == "0.00"
    assert closed["replacement_shipment_id"] == f"{rma['rma_id']}-X1"
    done = await stack.wait_for(order_id, "partially_returned")
    replacement = next(s for s in done["shipments"] if s["shipment_id"].startswith("RMA-"))
    assert replacement["status"] == "shipped" and replacement["tracking_number"]
    assert [line["sku"] for line in replacement["lines"]] == ["TSHIRT-L"]
    assert await ops(stack, order_id) == ["authorize", "capture"]


async def test_exchange_for_a_cheaper_sku_refunds_the_difference(returns_stack: Stack) -> None:
    stack = returns_stack
    lines = [{"line_id": "1", "sku": "HOODIE-M", "quantity": 1, "unit_price": "54.00"}]
    order = await delivered_order(stack, lines=lines)
    order_id = order["order_id"]
    dearer = await stack.post(
        f"/v1/orders/{order_id}/returns",
        {"lines": [{"line_id": "1", "quantity": 1, "reason": "x", "exchange_sku": "JACKET-M"}]},
    )
    assert dearer.status_code == 409 and "costs 129.00" in dearer.json()["message"]
    rma = await request(
        stack,
        order_id,
        {"line_id": "1", "quantity": 1, "reason": "style", "exchange_sku": "TSHIRT-M"},
    )
    await receive(stack, rma["rma_id"], {"line_id": "1", "quantity": 1, "condition": "unopened"})
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    assert closed["refund_amount"] == "34.01"
    assert await ops(stack, order_id) == ["authorize", "capture", "refund"]


async def test_bad_receipts_are_refused(returns_stack: Stack) -> None:
    stack = returns_stack
    order = await delivered_order(stack)
    rma = await request(stack, order["order_id"], {"line_id": "1", "quantity": 1, "reason": "x"})
    path = f"/v1/returns/{rma['rma_id']}/receive"
    bad_condition = await stack.post(
        path, {"lines": [{"line_id": "1", "quantity": 1, "condition": "soggy"}]}
    )
    assert bad_condition.status_code == 422
    too_many = await stack.post(
        path, {"lines": [{"line_id": "1", "quantity": 2, "condition": "new"}]}
    )
    assert too_many.status_code == 409 and "authorised only 1" in too_many.json()["message"]
    unknown = await stack.post(
        path, {"lines": [{"line_id": "9", "quantity": 1, "condition": "new"}]}
    )
    assert unknown.status_code == 409
    assert (await stack.get("/v1/returns/RMA-nope-1")).status_code == 404


async def test_return_after_the_window_is_refused_with_the_reason(stack: Stack) -> None:
    # The default test stack's window is half a business day: seconds at the test time scale.
    response = await stack.post("/v1/orders", canonical_order())
    order_id = response.json()["order_id"]
    await stack.wait_for(order_id, "completed")
    refused = await stack.post(
        f"/v1/orders/{order_id}/returns",
        {"lines": [{"line_id": "1", "quantity": 1, "reason": "late"}]},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"].startswith("return window closed on ")


async def test_return_before_delivery_is_refused(manual_stack: Stack) -> None:
    response = await manual_stack.post("/v1/orders", canonical_order())
    order_id = response.json()["order_id"]
    await manual_stack.wait_for(order_id, "in_fulfillment")
    refused = await manual_stack.post(
        f"/v1/orders/{order_id}/returns",
        {"lines": [{"line_id": "1", "quantity": 1, "reason": "early"}]},
    )
    assert refused.status_code == 409
    assert "returns open once it is delivered" in refused.json()["message"]


async def test_unreceived_rma_expires_and_frees_its_units(
    temporal_client: Client, tmp_path: Path
) -> None:
    # A faster clock so the 14-day RMA expiry passes in seconds; the window still outlasts it.
    async with running_stack(
        temporal_client,
        f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}",
        time_scale=0.00001,
        return_window_days=90,
    ) as stack:
        order = await delivered_order(stack)
        order_id = order["order_id"]
        first = await request(stack, order_id, {"line_id": "1", "quantity": 2, "reason": "x"})
        expired = await wait_rma(stack, first["rma_id"], "expired", timeout=120)
        assert expired["refund_amount"] is None
        late = await stack.post(
            f"/v1/returns/{first['rma_id']}/receive",
            {"lines": [{"line_id": "1", "quantity": 1, "condition": "new"}]},
        )
        assert late.status_code == 409
        again = await request(stack, order_id, {"line_id": "1", "quantity": 2, "reason": "y"})
        assert again["rma_id"] == f"RMA-{order_id}-2"
        events = [e["type"] for e in (await stack.order(order_id))["events"]]
        assert "return_expired" in events
