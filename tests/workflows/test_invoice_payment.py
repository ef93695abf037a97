"""B2B invoice payment on a real Temporal dev server: an order shipping in two parcels gets a
receivable and an invoice per parcel (PDFs with their amounts and due dates), a return becomes a
credit note, and the card gateway never hears of any of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import func, select
from temporalio.client import Client

from sandbox.tables import SandboxPaymentAuthorization, SandboxPaymentRequest
from store.tables import StockLevel
from tests.conftest import Stack, canonical_order, running_stack
from tests.workflows.returns.conftest import LONG_WINDOW_DAYS, wait_rma

# JACKET-M is stocked only in Newark and HOODIE-M is taken out of Newark: two parcels.
TWO_PARCELS = [
    {"line_id": "1", "sku": "HOODIE-M", "quantity": 2, "unit_price": "54.00"},
    {"line_id": "2", "sku": "JACKET-M", "quantity": 1, "unit_price": "129.00"},
]
TOTAL = "257.40"  # 108.00 + 129.00 + 12.00 shipping + 8.40 tax


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(body)).pages)


async def gateway_requests(stack: Stack) -> int:
    """Every call the sandbox card gateway received (authorizations and idempotent requests)."""
    async with stack.sandbox_sessions() as session:
        auths = await session.scalar(select(func.count()).select_from(SandboxPaymentAuthorization))
        requests = await session.scalar(select(func.count()).select_from(SandboxPaymentRequest))
    return int(auths or 0) + int(requests or 0)


async def test_an_invoice_order_in_two_parcels_is_invoiced_per_parcel_and_credited_on_return(
    temporal_client: Client, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, return_window_days=LONG_WINDOW_DAYS) as stack:
        async with stack.sessions() as session:
            east = await session.get(StockLevel, ("HOODIE-M", "WH-EAST"))
            assert east is not None
        drained = await stack.post(
            "/v1/inventory/adjustments",
            {"sku": "HOODIE-M", "location_id": "WH-EAST", "delta": -east.on_hand, "reason": "x"},
        )
        assert drained.status_code == 200, drained.text
        body = canonical_order(
            channel="b2b",
            lines=TWO_PARCELS,
            shipping_price="12.00",
            tax_total="8.40",
            payment={"method": "invoice", "terms_days": 45},
        )
        accepted = await stack.post("/v1/orders", body)
        assert accepted.status_code == 202, accepted.text
        order_id = accepted.json()["order_id"]
        order = await stack.wait_for(order_id, "delivered")
        assert order["total"] == TOTAL
        assert len(order["shipments"]) == 2

        kinds = [p["kind"] for p in order["payments"]]
        assert kinds == ["receivable", "invoice", "invoice"], order["payments"]
        receivable, *invoices = order["payments"]
        assert (receivable["amount"], receivable["status"]) == (TOTAL, "open")
        assert sum(Decimal(p["amount"]) for p in invoices) == Decimal(TOTAL)
        shipped_at = {s["shipment_id"]: s["shipped_at"] for s in order["shipments"]}
        for invoice in invoices:
            sid = invoice["reference"]
            issued = datetime.fromisoformat(shipped_at[sid])
            assert datetime.fromisoformat(invoice["due_at"]) == issued + timedelta(days=45)
            assert invoice["document"] == f"INV-{sid.removeprefix('ord_')}"
            response = await stack.get(f"/v1/shipments/{sid}/invoice")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/pdf"
            text = pdf_text(response.content)
            assert invoice["document"] in text
            assert f"USD {Decimal(invoice['amount']):,.2f}" in text
            due = (issued + timedelta(days=45)).strftime("%Y-%m-%d")
            assert f"Due: {due} (net 45 days)" in text
            assert "Ann Lee" in text and "Austin, TX 78701" in text
        types = [e["type"] for e in order["events"]]
        assert "receivable_opened" in types and types.count("invoice_issued") == 2
        assert "payment_authorized" not in types and "payment_captured" not in types
        # A shipment of a card order has no invoice.
        missing = await stack.get(f"/v1/shipments/{order_id}-S9/invoice")
        assert missing.status_code == 404

        listed = await stack.get("/v1/receivables?status=open")
        assert listed.status_code == 200, listed.text
        [account] = [r for r in listed.json()["items"] if r["order_id"] == order_id]
        assert (account["expected"], account["invoiced"], account["balance"]) == (TOTAL,) * 3
        assert account["terms_days"] == 45
        assert sorted(d["document_id"] for d in account["documents"]) == sorted(
            p["document"] for p in invoices
        )

        # A returned tee is credited, not refunded to a card.
        rma = await stack.post(
            f"/v1/orders/{order_id}/returns",
            {"lines": [{"line_id": "1", "quantity": 1, "reason": "too_small"}]},
        )
        assert rma.status_code == 201, rma.text
        rma_id = rma.json()["rma_id"]
        received = await stack.post(
            f"/v1/returns/{rma_id}/receive",
            {"lines": [{"line_id": "1", "quantity": 1, "condition": "new"}]},
        )
        assert received.status_code == 200, received.text
        closed = await wait_rma(stack, rma_id, "closed")
        done = await stack.wait_for(order_id, "partially_returned")
        [credit] = [p for p in done["payments"] if p["kind"] == "credit_note"]
        assert credit["amount"] == closed["refund_amount"] and credit["reference"] == rma_id
        assert not any(p["kind"] == "refund" for p in done["payments"])
        account = await _receivable(stack, order_id)
        assert account["credited"] == credit["amount"]
        assert Decimal(account["balance"]) == Decimal(TOTAL) - Decimal(credit["amount"])

        # The card gateway was never called for any of it.
        assert await gateway_requests(stack) == 0


async def test_an_invoice_order_cancelled_before_shipping_closes_its_receivable(
    manual_stack: Stack,
) -> None:
    stack = manual_stack
    body = canonical_order(payment={"method": "invoice"})
    accepted = (await stack.post("/v1/orders", body)).json()
    order_id = accepted["order_id"]
    await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    cancelled = await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "customer asked"})
    assert cancelled.status_code == 200, cancelled.text
    order = await stack.wait_for(order_id, "cancelled")
    assert [(p["kind"], p["amount"]) for p in order["payments"]] == [
        ("receivable", "39.98"),
        ("void", "39.98"),
    ]
    account = await _receivable(stack, order_id)
    assert (account["status"], account["released"], account["balance"]) == (
        "closed",
        "39.98",
        "0.00",
    )
    assert account["terms_days"] == 30  # net 30 unless the order says
    assert await gateway_requests(stack) == 0


async def _receivable(stack: Stack, order_id: str) -> dict[str, Any]:
    listed = await stack.get("/v1/receivables")
    assert listed.status_code == 200, listed.text
    [account] = [r for r in listed.json()["items"] if r["order_id"] == order_id]
    return account  # type: ignore[no-any-return]
