"""Draft orders over HTTP, on SQLite and PostgreSQL: stored without stock, payment or workflow;
edited (services.drafts.apply_change, which the edit routes call for a draft); confirmed into
the normal intake once; expired by the sweeper."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment

from activities.io import SweepInput
from activities.sweeper import SweeperActivities
from domain.errors import InvalidInput, NotFound, Refused
from domain.models import OrderLine
from domain.order_changes import Actor, OrderChange
from services import drafts
from store.demand_tables import OrderDemand
from store.draft_tables import DraftOrder
from store.tables import Order as OrderRow
from store.tables import OrderLine as OrderLineRow
from store.tables import utcnow
from tests.conftest import Stack, canonical_order, running_stack
from workflows.order.workflow import OrderWorkflow

ANN = Actor(key_id="k1", name="Ann at sales", role="ops")


@pytest.fixture
async def draft_stack(temporal_client: Client, empty_db_url: str) -> AsyncIterator[Stack]:
    """The app and a worker on each database; channel `b2b` refuses what stock cannot cover."""
    async with running_stack(temporal_client, empty_db_url, refuse_short_channels=["b2b"]) as s:
        yield s


def draft(name: str, **overrides: Any) -> dict[str, Any]:
    """A draft with a fresh external id (the Temporal server outlives each test's database)."""
    return {**canonical_order(f"{name}-{uuid.uuid4().hex[:8]}", **overrides), "draft": True}


async def promised(stack: Stack, sku: str) -> int:
    view = (await stack.get(f"/v1/inventory/{sku}")).json()
    return int(view["promised"])


async def demand_lines(stack: Stack, order_id: str) -> dict[str, int]:
    """line_id -> units intake promised the order (its `order_demand` rows)."""
    async with stack.sessions() as session:
        rows = await session.scalars(select(OrderDemand).where(OrderDemand.order_id == order_id))
        return {r.line_id: r.wanted for r in rows}


async def started(stack: Stack, workflow_id: str) -> str | None:
    """The run id of the order's workflow, None when it was never started."""
    try:
        described = await stack.client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return None
    return described.run_id


async def expire_now(stack: Stack, order_id: str) -> None:
    async with stack.sessions.begin() as session:
        await session.execute(
            update(DraftOrder)
            .where(DraftOrder.order_id == order_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_a_draft_is_stored_edited_confirmed_once_and_placed(draft_stack: Stack) -> None:
    stack = draft_stack
    before = await promised(stack, "TSHIRT-M")
    body = draft("d-1")
    created = await stack.post("/v1/orders", body)
    assert created.status_code == 202, created.text
    accepted = created.json()
    order_id = accepted["order_id"]
    assert accepted["status"] == "draft" and accepted["workflow_id"].startswith("order-web-d-1-")
    # Stored, but nothing taken: no demand, no payment, no workflow.
    assert await promised(stack, "TSHIRT-M") == before
    assert await demand_lines(stack, order_id) == {}
    assert await started(stack, accepted["workflow_id"]) is None
    order = await stack.order(order_id)
    assert (order["status"], order["payments"], order["total"]) == ("draft", [], "39.98")
    assert [e["type"] for e in order["events"]] == ["draft_created"]
    # The card token waits beside the draft, never in the order's document.
    async with stack.sessions() as session:
        stored = await session.get(DraftOrder, order_id)
        assert stored is not None and stored.payment == {
            "method": "card",
            "token": "tok_visa",
            "terms_days": None,
        }
        row = await session.get(OrderRow, order_id)
        assert row is not None and row.document["payment"] == {"method": "card"}

    repeat = await stack.post("/v1/orders", body)
    assert repeat.status_code == 200 and repeat.json() == accepted

    listed = (await stack.get("/v1/orders?status=draft")).json()["items"]
    assert [o["order_id"] for o in listed] == [order_id]
    assert (await stack.get("/v1/orders?status=received")).json()["items"] == []

    # An edit, previewed (nothing written) and then made.
    change = OrderChange(
        kind="edit",
        quantities={"1": 3},
        add=[OrderLine(line_id="2", sku="MUG-12OZ", quantity=1, unit_price=Decimal("16.00"))],
        reason="customer called",
        actor=ANN,
    )
    preview = await drafts.apply_change(stack.sessions, order_id, change, preview=True)
    assert (preview.before_total, preview.after_total) == (Decimal("39.98"), Decimal("75.97"))
    assert preview.payment.action == "none" and preview.payment.amount == 0
    assert [(d.line_id, d.before, d.after) for d in preview.lines] == [("1", 2, 3), ("2", 0, 1)]
    assert (await stack.order(order_id))["total"] == "39.98"

    plan = await drafts.apply_change(stack.sessions, order_id, change, preview=False)
    assert plan.after_total == Decimal("75.97")
    edited = await stack.order(order_id)
    assert edited["total"] == "75.97" and edited["status"] == "draft"
    assert [(x["line_id"], x["quantity"]) for x in edited["lines"]] == [("1", 3), ("2", 1)]
    [event] = [e for e in edited["events"] if e["type"] == "draft_edited"]
    assert event["detail"]["actor"] == ANN.model_dump()
    assert event["detail"]["total_after"] == "75.97" and event["detail"]["change"] == "edit"
    by_sku = (await stack.get("/v1/orders?sku=MUG-12OZ&status=draft")).json()["items"]
    assert [o["order_id"] for o in by_sku] == [order_id]
    # A line cancel of a draft is the same kind of change; an unknown SKU is refused.
    cancel = OrderChange(kind="line_cancel", cancel={"1": 1}, reason="one less")
    await drafts.apply_change(stack.sessions, order_id, cancel, preview=False)
    bad = OrderChange(
        kind="edit",
        add=[OrderLine(line_id="3", sku="NO-SUCH", quantity=1, unit_price=Decimal("1"))],
    )
    with pytest.raises(InvalidInput, match="unknown SKU"):
        await drafts.apply_change(stack.sessions, order_id, bad, preview=False)
    with pytest.raises(InvalidInput, match="4 to take off but 2 ordered"):
        stale = OrderChange(kind="line_cancel", cancel={"1": 4})
        await drafts.apply_change(stack.sessions, order_id, stale, preview=True)
    with pytest.raises(InvalidInput, match="at least one line"):
        everything = OrderChange(kind="edit", quantities={"1": 0, "2": 0})
        await drafts.apply_change(stack.sessions, order_id, everything, preview=True)
    with pytest.raises(NotFound):
        await drafts.apply_change(stack.sessions, "ord_nope", cancel, preview=True)

    # Confirmed: the normal intake (demand taken), the workflow started with the edited order.
    confirmed = await stack.post(f"/v1/orders/{order_id}/confirm", {})
    assert confirmed.status_code == 202, confirmed.text
    assert confirmed.json() == {**accepted, "status": "received"}
    assert await demand_lines(stack, order_id) == {"1": 2, "2": 1}
    run_id = await started(stack, accepted["workflow_id"])
    assert run_id is not None
    handle = stack.client.get_workflow_handle_for(OrderWorkflow.run, accepted["workflow_id"])
    state = await handle.query(OrderWorkflow.state)
    assert [(x.line_id, x.quantity) for x in state.order.lines] == [("1", 2), ("2", 1)]
    assert state.order.total == Decimal("55.98") and state.order.payment.token == "tok_visa"

    again = await stack.post(f"/v1/orders/{order_id}/confirm", {})
    assert again.status_code == 200, again.text
    assert again.json()["order_id"] == order_id and again.json()["status"] != "draft"
    assert await started(stack, accepted["workflow_id"]) == run_id  # nothing new started
    with pytest.raises(Refused, match="no longer a draft"):
        await drafts.apply_change(stack.sessions, order_id, cancel, preview=True)

    placed = await stack.wait_for(order_id, "delivered", "completed")
    assert [p["kind"] for p in placed["payments"]][:1] == ["authorization"]
    types = [e["type"] for e in placed["events"]]
    assert types[:3] == ["draft_created", "draft_edited", "draft_edited"]
    assert "draft_confirmed" in types and "received" in types


async def test_confirming_what_is_not_a_draft_or_expired_is_refused(draft_stack: Stack) -> None:
    stack = draft_stack
    placed = await stack.post("/v1/orders", canonical_order())
    assert placed.status_code == 202, placed.text
    refused = await stack.post(f"/v1/orders/{placed.json()['order_id']}/confirm", {})
    assert refused.status_code == 409
    assert refused.json()["error"] == "not_a_draft"
    assert "not a draft" in refused.json()["message"]
    assert (await stack.post("/v1/orders/ord_nope/confirm", {})).status_code == 404

    # A draft whose time is up cannot be confirmed, even before the sweeper marks it.
    old = (await stack.post("/v1/orders", draft("d-old"))).json()
    fresh = (await stack.post("/v1/orders", draft("d-fresh"))).json()
    await expire_now(stack, old["order_id"])
    late = await stack.post(f"/v1/orders/{old['order_id']}/confirm", {})
    assert late.status_code == 409 and late.json()["error"] == "draft_expired", late.text

    sweeper = SweeperActivities(
        stack.sessions,
        stack.integrations.gateway,
        stack.integrations.carriers,
        stack.integrations.warehouse,
    )
    swept = await ActivityEnvironment(client=stack.client).run(
        sweeper.sweep_abandoned_orders, SweepInput(task_queue=stack.settings.task_queue)
    )
    assert swept.expired_drafts == [old["order_id"]]
    expired = await stack.order(old["order_id"])
    assert expired["status"] == "expired"
    assert [e["type"] for e in expired["events"]] == ["draft_created", "draft_expired"]
    async with stack.sessions() as session:
        row = await session.get(DraftOrder, old["order_id"])
        assert row is not None and row.payment is None  # the card token is forgotten
    again = await stack.post(f"/v1/orders/{old['order_id']}/confirm", {})
    assert again.status_code == 409 and "expired" in again.json()["message"]
    with pytest.raises(Refused, match="expired"):
        change = OrderChange(kind="line_cancel", cancel={"1": 1})
        await drafts.apply_change(stack.sessions, old["order_id"], change, preview=True)
    assert (await stack.get("/v1/orders?status=expired")).json()["items"][0]["order_id"] == (
        old["order_id"]
    )
    # Ops actions on a draft say why there is nothing to act on.
    held = await stack.post(f"/v1/orders/{fresh['order_id']}/hold", {"reason": "x"})
    assert held.status_code == 409 and "draft" in held.json()["message"]
    # A second sweep finds nothing more; the fresh draft is untouched and still confirms.
    swept = await ActivityEnvironment(client=stack.client).run(
        sweeper.sweep_abandoned_orders, SweepInput(task_queue=stack.settings.task_queue)
    )
    assert swept.expired_drafts == []
    assert (await stack.post(f"/v1/orders/{fresh['order_id']}/confirm", {})).status_code == 202


async def test_a_draft_of_a_refusing_channel_stays_a_draft_when_stock_cannot_cover_it(
    draft_stack: Stack,
) -> None:
    stack = draft_stack
    lines = [{"line_id": "1", "sku": "JACKET-M", "quantity": 9000, "unit_price": "129.00"}]
    body = draft("b-1", channel="b2b", lines=lines, payment={"method": "invoice"})
    created = await stack.post("/v1/orders", body)
    assert created.status_code == 202, created.text  # a draft takes no stock: nothing to refuse
    order_id = created.json()["order_id"]
    refused = await stack.post(f"/v1/orders/{order_id}/confirm", {})
    assert refused.status_code == 409 and refused.json()["error"] == "out_of_stock", refused.text
    assert (await stack.order(order_id))["status"] == "draft"
    assert await started(stack, created.json()["workflow_id"]) is None
    # Made coverable by an edit, it is placed.
    change = OrderChange(kind="edit", quantities={"1": 1}, actor=ANN)
    await drafts.apply_change(stack.sessions, order_id, change, preview=False)
    placed = await stack.post(f"/v1/orders/{order_id}/confirm", {})
    assert placed.status_code == 202, placed.text
    async with stack.sessions() as session:
        rows = (
            await session.scalars(select(OrderLineRow).where(OrderLineRow.order_id == order_id))
        ).all()
        assert [(r.sku, r.quantity) for r in rows] == [("JACKET-M", 1)]
    order = await stack.wait_for(order_id, "in_fulfillment", "shipped", "delivered", "completed")
    assert order["payments"][0]["kind"] == "receivable"


async def test_bad_drafts_are_refused_naming_the_field(draft_stack: Stack) -> None:
    stack = draft_stack
    unknown = await stack.post(
        "/v1/orders",
        draft("x-1", lines=[{"line_id": "1", "sku": "NOPE", "quantity": 1, "unit_price": "1"}]),
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "lines[0].sku"
    no_token = await stack.post("/v1/orders", draft("x-2", payment={"method": "card"}))
    assert no_token.status_code == 422
    assert no_token.json()["detail"][0]["field"] == "payment.token"
    terms = await stack.post(
        "/v1/orders", draft("x-3", payment={"method": "invoice", "terms_days": 400})
    )
    assert terms.status_code == 422
    assert terms.json()["detail"][0]["field"] == "payment.terms_days"
    assert (await stack.get("/v1/orders?status=draft")).json()["items"] == []
