"""Money and undo for OrderWorkflow: capture, refund, void, and the one compensation routine."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import io
    from activities.inventory import InventoryActivities
    from activities.payments import PaymentActivities
    from activities.shipping import ShippingActivities
    from domain.order_state import (
        PaymentEntry,
        ShipmentState,
    )
    from workflows import policies
    from workflows.order_base import SHIPPED_STATES, OrderBase, S


class OrderSettlement(OrderBase):
    """Captures what shipped, refunds, and undoes what a stopped order holds."""

    async def _capture(self, sh: ShipmentState) -> None:
        pay = self.s.payment
        if sh.captured or not pay.authorization_id or sh.capture_amount <= 0:
            return
        result = await workflow.execute_activity_method(
            PaymentActivities.capture_payment,
            io.PaymentOpInput(
                idempotency_key=self._key("capture", sh.shipment_id),
                order_id=self.s.order_id,
                authorization_id=pay.authorization_id,
                amount=sh.capture_amount,
            ),
            **policies.PAYMENT,
        )
        sh.captured = True
        pay.captured += result.amount
        pay.entries.append(
            PaymentEntry(
                kind="capture", amount=result.amount, status=result.status, reference=sh.shipment_id
            )
        )
        self._event(
            "payment_captured", {"shipment_id": sh.shipment_id, "amount": str(result.amount)}
        )

    async def _refund(self, amount: Any, reference: str) -> None:
        pay = self.s.payment
        if not pay.authorization_id or amount <= 0:
            return
        result = await workflow.execute_activity_method(
            PaymentActivities.refund_payment,
            io.PaymentOpInput(
                idempotency_key=self._key("refund", reference),
                order_id=self.s.order_id,
                authorization_id=pay.authorization_id,
                amount=amount,
            ),
            **policies.PAYMENT,
        )
        pay.refunded += result.amount
        pay.entries.append(
            PaymentEntry(
                kind="refund", amount=result.amount, status=result.status, reference=reference
            )
        )
        self._event("payment_refunded", {"amount": str(result.amount), "reference": reference})
        await self._notify("refund_issued", {"amount": str(result.amount)}, reference)

    async def _settle(self) -> None:
        """Everything shipped: release what the authorization holds beyond what was captured."""
        pay = self.s.payment
        if pay.authorization_id and not pay.voided and pay.authorized > pay.captured:
            await self._void_payment()

    async def _undo_shipment(self, sh: ShipmentState) -> None:
        """Withdraw an unshipped shipment: release taken back, label voided."""
        if sh.released and await self._cancel_release(sh):
            raise ApplicationError(
                f"shipment {sh.shipment_id} shipped while it was being rerouted", type="Conflict"
            )
        await self._void_label(sh)
        sh.status = "cancelled"

    async def _void_label(self, sh: ShipmentState) -> None:
        if sh.label_id and not sh.label_voided:
            voided = await workflow.execute_activity_method(
                ShippingActivities.void_label,
                io.VoidLabelInput(
                    order_id=self.s.order_id, carrier=sh.carrier or "", label_id=sh.label_id
                ),
                **policies.QUICK,
            )
            sh.label_voided = voided
            if voided:
                self._event("label_voided", {"shipment_id": sh.shipment_id})
            else:
                self._event(
                    "alert",
                    {
                        "shipment_id": sh.shipment_id,
                        "message": "carrier already scanned the label; it was not voided",
                    },
                )

    async def _void_payment(self) -> None:
        pay = self.s.payment
        assert pay.authorization_id
        result = await workflow.execute_activity_method(
            PaymentActivities.void_payment,
            io.PaymentOpInput(
                idempotency_key=self._key("void"),
                order_id=self.s.order_id,
                authorization_id=pay.authorization_id,
            ),
            **policies.PAYMENT,
        )
        pay.voided = True
        pay.entries.append(PaymentEntry(kind="void", amount=result.amount, status=result.status))
        self._event("payment_voided", {"amount": str(result.amount)})

    async def _follow_shipped_after_stop(self, reason: str) -> None:
        """A parcel left before the stop took effect: it cannot be cancelled, so follow it home."""
        self._event("alert", {"message": f"{reason}: shipments already left; tracking them"})
        await self._project()
        shipped = [s for s in self.s.shipments if s.status == "shipped"]
        await asyncio.gather(*(self._track(s) for s in shipped))
        if any(s.status == "delivered" for s in self.s.shipments):
            self._set_status(S.DELIVERED, "delivered", {})
        else:
            self._set_status(S.FAILED, "failed", {"reason": "no shipment was delivered"})

    async def _compensate(self) -> None:
        """Undo what the order holds: releases, labels, reservations, the authorization."""
        for sh in self.s.shipments:
            if sh.status in SHIPPED_STATES or sh.status == "cancelled":
                continue
            if sh.released and await self._cancel_release(sh):
                # The warehouse shipped before the stop took effect: account for the parcel.
                self._event(
                    "alert",
                    {
                        "shipment_id": sh.shipment_id,
                        "message": "shipped before cancellation took effect",
                    },
                )
                await self._shipped_out(sh)
                continue
            await self._void_label(sh)
            sh.status = "cancelled"
        if self.s.reservations:
            await workflow.execute_activity_method(
                InventoryActivities.release_stock,
                io.ReleaseStockInput(order_id=self.s.order_id, reason="order stopped"),
                **policies.QUICK,
            )
            self.s.reservations = []
            self._event("stock_released", {})
        pay = self.s.payment
        if pay.authorization_id and not pay.voided and pay.authorized > pay.captured:
            await self._void_payment()
        await self._project()
