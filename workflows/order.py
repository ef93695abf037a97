"""OrderWorkflow: one long-running workflow per order, from payment to the end of returns.

validate -> authorize -> route + reserve (backorder while short) -> per shipment in parallel:
label -> release to location -> wait for `shipped` -> commit stock -> capture -> track ->
delivered -> return window -> completed. Cancel and every failure run `_compensate`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities import io
    from activities.inventory import InventoryActivities
    from activities.notifications import NotificationActivities
    from activities.orders import OrderActivities
    from activities.payments import PaymentActivities
    from activities.shipping import ShippingActivities
    from activities.warehouse import WarehouseActivities
    from domain.billing import capture_plan
    from domain.commands import (
        ActionRequest,
        AddressChange,
        FulfilmentEvent,
        RerouteRequest,
        TrackingUpdate,
    )
    from domain.order_state import (
        OrderState,
        PaymentEntry,
        ShipmentLine,
        ShipmentState,
        TimelineEvent,
    )
    from domain.states import TERMINAL, OrderStatus, transition
    from domain.timings import OrderInput
    from workflows import policies
    from workflows.search_attributes import CHANNEL, LOCATION, ORDER_STATUS
    from workflows.tracking import ShipmentTrackingWorkflow, TrackingInput

S = OrderStatus
CHANNEL_PAID = "channel-paid:"
SHIPPED_STATES = {"shipped", "in_transit", "out_for_delivery", "delivered", "exception"}
# A route that keeps losing reservation races is treated like a shortage after this many tries.
MAX_RESERVE_RACES = 5


class _Stop(Exception):
    """Raised at a checkpoint when the order must stop (cancel requested or a sibling failed)."""


class _Reroute(Exception):
    """Raised at a checkpoint when ops asked to route the unshipped work again."""


@workflow.defn
class OrderWorkflow:
    """The life of one order."""

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self.s = OrderState(
            order_id=input.order_id, workflow_id=workflow.info().workflow_id, order=input.order
        )
        self._timings = input.timings
        self._weights: dict[str, int] = {}
        self._cancel_requested = False
        self._aborted = False
        self._finished = False
        self._shipped: set[str] = set()
        self._stock_signal = False
        self._address_lock = False
        self._reroute_pending = False
        self._routing_passes = 0
        self._confirmed = False
        self._shipment_seq = 0
        self._projected = 0

    # ---- the process -------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: OrderInput) -> OrderState:
        """Run the order to completion, cancellation or failure."""
        try:
            await self._process()
        except (_Stop, asyncio.CancelledError):
            await self._compensate()
            reason = self.s.cancel_reason or "cancelled"
            if self.s.any_shipped():
                await self._follow_shipped_after_stop(reason)
            else:
                self._set_status(S.CANCELLED, "cancelled", {"reason": reason})
                await self._notify("cancelled", {"reason": reason})
        except (ActivityError, ChildWorkflowError, ApplicationError) as err:
            self.s.failure_reason = _reason(err)
            workflow.logger.warning("order failed: %s", self.s.failure_reason)
            await self._compensate()
            self._set_status(S.FAILED, "failed", {"reason": self.s.failure_reason})
        self._finished = True
        await self._project()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s

    async def _process(self) -> None:
        order = self.s.order
        workflow.upsert_search_attributes(
            [ORDER_STATUS.value_set(self.s.status.value), CHANNEL.value_set(order.channel)]
        )
        self._event("received", {"total": str(order.total), "lines": len(order.lines)})
        await self._project()
        validated = await workflow.execute_activity_method(
            OrderActivities.validate_order,
            io.ValidateOrderInput(order_id=self.s.order_id, order=order),
            **policies.QUICK,
        )
        self._weights = validated.weights
        await self._checkpoint()
        await self._authorize()
        while True:
            await self._allocate()
            if not self._confirmed:
                self._confirmed = True
                await self._notify("order_confirmed", {})
            try:
                await self._fulfil_all()
                break
            except _Reroute:
                await self._unwind_for_reroute()
        await self._settle()
        if not any(s.status == "delivered" for s in self.s.shipments):
            raise ApplicationError("no shipment was delivered", type="DeliveryFailed")
        self._set_status(S.DELIVERED, "delivered", {})
        await self._notify("delivered", {})
        await self._project()
        await workflow.sleep(self._timings.scaled(self._timings.return_window_s))
        self._set_status(S.COMPLETED, "completed", {})

    async def _authorize(self) -> None:
        order = self.s.order
        if order.payment.token.startswith(CHANNEL_PAID):
            # Marketplaces (Amazon, eBay, Etsy, Walmart) collect the money; we never touch a card.
            entry = PaymentEntry(kind="authorization", amount=order.total, status="paid_on_channel")
            self.s.payment.entries.append(entry)
            self._event("payment_collected_by_channel", {"amount": str(order.total)})
            await self._project()
            return
        auth = await workflow.execute_activity_method(
            PaymentActivities.authorize_payment,
            io.AuthorizeInput(
                idempotency_key=self._key("authorize"),
                order_id=self.s.order_id,
                amount=order.total,
                currency=order.currency,
                token=order.payment.token,
            ),
            **policies.PAYMENT,
        )
        pay = self.s.payment
        pay.authorization_id, pay.authorized = auth.authorization_id, auth.amount
        pay.entries.append(PaymentEntry(kind="authorization", amount=auth.amount, status="ok"))
        self._event("payment_authorized", {"amount": str(auth.amount)})
        await self._project()

    async def _allocate(self) -> None:
        """Route and reserve; wait as `backordered` while stock is short, up to the deadline."""
        deadline = workflow.now() + self._timings.scaled(self._timings.backorder_deadline_s)
        races = 0
        lines = [
            ShipmentLine(line_id=x.line_id, sku=x.sku, quantity=x.quantity)
            for x in self.s.order.lines
        ]
        while True:
            await self._checkpoint(allow_reroute=True)
            self._reroute_pending = False  # this pass applies the latest exclusions
            route = await workflow.execute_activity_method(
                InventoryActivities.route_order,
                io.RouteInput(
                    order_id=self.s.order_id,
                    channel=self.s.order.channel,
                    ship_to=self.s.order.ship_to,
                    lines=lines,
                    weights=self._weights,
                    exclude_locations=self.s.excluded_locations,
                ),
                **policies.QUICK,
            )
            self._routing_passes += 1
            if not route.unallocated:
                reserved = await workflow.execute_activity_method(
                    InventoryActivities.reserve_stock,
                    io.ReserveInput(order_id=self.s.order_id, allocations=route.allocations),
                    **policies.QUICK,
                )
                if reserved.reserved:
                    self._plan_shipments(route)
                    return
                races += 1
                if races < MAX_RESERVE_RACES:
                    continue
            await self._wait_for_stock(route, deadline)
            races = 0

    async def _wait_for_stock(self, route: io.RouteResult, deadline: Any) -> None:
        if self.s.status != S.BACKORDERED:
            short = [u.model_dump() for u in route.unallocated]
            self._set_status(S.BACKORDERED, "backordered", {"short": short})
            await self._notify("backordered", {"short": short})
            await self._project()
        remaining = (deadline - workflow.now()).total_seconds()
        if remaining <= 0:
            self.s.cancel_reason = "backorder deadline passed without stock"
            raise _Stop()
        self._stock_signal = False
        recheck = self._timings.scaled(self._timings.backorder_recheck_s).total_seconds()
        try:
            await workflow.wait_condition(
                lambda: self._stock_signal or self._stopping() or self._reroute_pending,
                timeout=timedelta(seconds=min(recheck, remaining)),
            )
        except TimeoutError:
            pass

    def _plan_shipments(self, route: io.RouteResult) -> None:
        by_location: dict[str, list[ShipmentLine]] = {}
        for a in route.allocations:
            by_location.setdefault(a.location_id, []).append(
                ShipmentLine(line_id=a.line_id, sku=a.sku, quantity=a.quantity)
            )
        locations = sorted(by_location)
        amounts = capture_plan(self.s.order, [by_location[x] for x in locations])
        kept = [
            s for s in self.s.shipments if s.status in SHIPPED_STATES or s.status == "cancelled"
        ]
        self.s.shipments = kept
        for location_id, amount in zip(locations, amounts, strict=True):
            self._shipment_seq += 1
            self.s.shipments.append(
                ShipmentState(
                    shipment_id=f"{self.s.order_id}-S{self._shipment_seq}",
                    location_id=location_id,
                    lines=by_location[location_id],
                    capture_amount=amount,
                )
            )
        self.s.reservations = list(route.allocations)
        self.s.routing = route.decision
        workflow.upsert_search_attributes([LOCATION.value_set(locations)])
        detail = {"locations": locations, "explanation": route.decision.get("explanation", "")}
        self._set_status(S.IN_FULFILLMENT, "routed", detail)

    async def _fulfil_all(self) -> None:
        pending = [s for s in self.s.shipments if s.status not in SHIPPED_STATES | {"cancelled"}]
        results = await asyncio.gather(*(self._fulfil(s) for s in pending), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        business = [e for e in errors if not isinstance(e, (_Stop, _Reroute))]
        if business:
            raise business[0]
        stops = [e for e in errors if isinstance(e, _Stop)]
        if stops or self._stopping():
            raise _Stop()
        if errors:
            raise _Reroute()

    async def _fulfil(self, sh: ShipmentState) -> None:
        try:
            await self._ship(sh)
        except _Reroute:
            raise
        except BaseException:
            self._aborted = True
            raise
        await self._track(sh)

    async def _unwind_for_reroute(self) -> None:
        """Take back unshipped work (releases, labels, holds) so routing can start over."""
        undone = [s for s in self.s.shipments if s.status not in SHIPPED_STATES | {"cancelled"}]
        for sh in undone:
            await self._undo_shipment(sh)
        locations = sorted({s.location_id for s in undone})
        if locations:
            await workflow.execute_activity_method(
                InventoryActivities.release_stock,
                io.ReleaseStockInput(
                    order_id=self.s.order_id, location_ids=locations, reason="reroute"
                ),
                **policies.QUICK,
            )
        self.s.reservations = [r for r in self.s.reservations if r.location_id not in locations]
        self._event("rerouted", {"from": locations, "excluded": self.s.excluded_locations})
        await self._project()

    async def _settle(self) -> None:
        """Everything shipped: release what the authorization holds beyond what was captured."""
        pay = self.s.payment
        if pay.authorization_id and not pay.voided and pay.authorized > pay.captured:
            await self._void_payment()

    async def _ship(self, sh: ShipmentState) -> None:
        await self._checkpoint()
        await workflow.wait_condition(lambda: not self._address_lock)
        await self._buy_label(sh)
        releases = 0
        while sh.shipment_id not in self._shipped:
            await self._checkpoint()
            releases += 1
            await workflow.execute_activity_method(
                WarehouseActivities.release_to_location,
                io.ReleaseToLocationInput(
                    idempotency_key=self._key("release", sh.shipment_id, str(releases)),
                    order_id=self.s.order_id,
                    workflow_id=self.s.workflow_id,
                    shipment_id=sh.shipment_id,
                    location_id=sh.location_id,
                    lines=sh.lines,
                ),
                **policies.QUICK,
            )
            sh.released = True
            if sh.status in ("pending", "label_purchased"):
                sh.status = "released"
            self._event(
                "released_to_location",
                {"shipment_id": sh.shipment_id, "location_id": sh.location_id},
            )
            await self._project()
            await workflow.wait_condition(
                lambda: (
                    sh.shipment_id in self._shipped
                    or self._stopping()
                    or self.s.on_hold
                    or self._reroute_pending
                )
            )
            if sh.shipment_id in self._shipped:
                break
            # Held or stopping: pull the work back from the warehouse before waiting.
            if await self._cancel_release(sh):
                break
        await self._shipped_out(sh)

    async def _buy_label(self, sh: ShipmentState) -> None:
        label = await workflow.execute_activity_method(
            ShippingActivities.buy_label,
            io.BuyLabelInput(
                idempotency_key=self._key("label", sh.shipment_id),
                order_id=self.s.order_id,
                shipment_id=sh.shipment_id,
                location_id=sh.location_id,
                ship_to=self.s.order.ship_to,
                service=self.s.order.shipping_service,
                lines=sh.lines,
                weights=self._weights,
            ),
            **policies.CARRIER,
        )
        sh.label_id, sh.carrier, sh.service = label.label_id, label.carrier, label.service
        sh.tracking_number, sh.label_url = label.tracking_number, label.label_url
        sh.rate, sh.rate_alternatives = label.rate, label.alternatives
        sh.status = "label_purchased"
        self._event(
            "label_purchased",
            {
                "shipment_id": sh.shipment_id,
                "carrier": label.carrier,
                "service": label.service,
                "tracking_number": label.tracking_number,
                "cost": str(label.rate.amount),
                "alternatives": [f"{r.carrier} {r.service} {r.amount}" for r in label.alternatives],
            },
        )
        await self._project()

    async def _cancel_release(self, sh: ShipmentState) -> bool:
        """Take a release back; True when the warehouse had already shipped it."""
        result = await workflow.execute_activity_method(
            WarehouseActivities.cancel_release,
            io.CancelReleaseInput(order_id=self.s.order_id, shipment_id=sh.shipment_id),
            **policies.QUICK,
        )
        if result.already_shipped:
            self._shipped.add(sh.shipment_id)
            return True
        sh.released = False
        sh.status = "label_purchased"
        self._event("release_withdrawn", {"shipment_id": sh.shipment_id})
        await self._project()
        return False

    async def _shipped_out(self, sh: ShipmentState) -> None:
        """The parcel left: stock leaves the books, the shipment is invoiced, the customer told."""
        await workflow.execute_activity_method(
            InventoryActivities.commit_stock,
            io.CommitStockInput(
                order_id=self.s.order_id,
                location_id=sh.location_id,
                line_ids=[x.line_id for x in sh.lines],
            ),
            **policies.QUICK,
        )
        sh.status = "shipped"
        await self._capture(sh)
        if all(s.status in SHIPPED_STATES for s in self.s.shipments if s.status != "cancelled"):
            self._set_status(S.SHIPPED, "shipped", {"shipment_id": sh.shipment_id})
        else:
            self._event("shipment_shipped", {"shipment_id": sh.shipment_id})
        await self._notify(
            "shipped",
            {
                "shipment_id": sh.shipment_id,
                "carrier": sh.carrier,
                "tracking_number": sh.tracking_number,
            },
            sh.shipment_id,
        )
        await self._project()

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

    async def _track(self, sh: ShipmentState) -> None:
        assert sh.carrier and sh.tracking_number
        # First scan check here; a child workflow then follows the parcel to the door.
        first = await workflow.execute_activity_method(
            ShippingActivities.poll_tracking,
            io.PollTrackingInput(
                order_id=self.s.order_id,
                shipment_id=sh.shipment_id,
                carrier=sh.carrier,
                tracking_number=sh.tracking_number,
            ),
            **policies.TRACKING,
        )
        result = await workflow.execute_child_workflow(
            ShipmentTrackingWorkflow.run,
            TrackingInput(
                order_id=self.s.order_id,
                parent_workflow_id=self.s.workflow_id,
                shipment_id=sh.shipment_id,
                carrier=sh.carrier,
                tracking_number=sh.tracking_number,
                timings=self._timings,
                last_status=first.status,
            ),
            id=f"{self.s.workflow_id}:track:{sh.shipment_id}",
        )
        if result.status == "delivered":
            sh.status = "delivered"
            sh.delivered_at = result.delivered_at
            self._event("shipment_delivered", {"shipment_id": sh.shipment_id})
            return
        # Lost or returned to sender: refund what this shipment was charged, and say so.
        sh.status = "exception"
        self._event(
            "delivery_exception",
            {"shipment_id": sh.shipment_id, "carrier_status": result.status, "alert": True},
        )
        await self._refund(sh.capture_amount if sh.captured else 0, sh.shipment_id)
        await self._notify(
            "delivery_exception",
            {"shipment_id": sh.shipment_id, "status": result.status},
            sh.shipment_id,
        )
        await self._project()

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

    # ---- compensation --------------------------------------------------------------------------

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

    # ---- ops updates ----------------------------------------------------------------------------

    @workflow.update
    async def cancel(self, request: ActionRequest) -> OrderState:
        """Stop the order and undo everything it holds; answers once compensation is done."""
        if not self._cancel_requested:
            self._cancel_requested = True
            self.s.cancel_reason = request.reason or "cancelled by ops"
            self._event("cancel_requested", {"reason": self.s.cancel_reason})
        await workflow.wait_condition(lambda: self._finished)
        return self.s

    @cancel.validator
    def _validate_cancel(self, request: ActionRequest) -> None:
        self._refuse_when_closed("cancel")
        shipped = self.s.any_shipped()
        if shipped:
            _refuse(f"shipment {shipped.shipment_id} has already shipped; start a return instead")

    @workflow.update
    async def reroute(self, request: RerouteRequest) -> OrderState:
        """Route unshipped work again without some locations; answers once it is re-planned."""
        excluded = sorted(set(self.s.excluded_locations) | set(request.exclude_locations))
        self.s.excluded_locations = excluded
        self._reroute_pending = True
        passes = self._routing_passes
        self._event("reroute_requested", {"exclude_locations": excluded, "reason": request.reason})
        await workflow.wait_condition(
            lambda: self._finished or (not self._reroute_pending and self._routing_passes > passes)
        )
        await workflow.wait_condition(
            lambda: (
                self._finished
                or (
                    self.s.status in (S.IN_FULFILLMENT, S.BACKORDERED)
                    and not any(s.status == "pending" for s in self.s.shipments)
                )
                or self._stopping()
            )
        )
        return self.s

    @reroute.validator
    def _validate_reroute(self, request: RerouteRequest) -> None:
        self._refuse_when_closed("reroute")
        shipped = self.s.any_shipped()
        if shipped:
            _refuse(f"shipment {shipped.shipment_id} has already shipped; it cannot be rerouted")
        if self.s.on_hold:
            _refuse("order is on hold; release it before rerouting")
        if self._reroute_pending:
            _refuse("a reroute is already in progress")

    @workflow.update
    async def hold(self, request: ActionRequest) -> OrderState:
        """Pause the order at its next step (and pull unshipped work back from the warehouse)."""
        self.s.status_before_hold = self.s.status
        self.s.hold_reason = request.reason or "held by ops"
        self._set_status(S.ON_HOLD, "held", {"reason": self.s.hold_reason})
        await self._project()
        return self.s

    @hold.validator
    def _validate_hold(self, request: ActionRequest) -> None:
        self._refuse_when_closed("hold")
        if self.s.on_hold:
            _refuse("order is already on hold")
        if self.s.status in (S.SHIPPED, S.DELIVERED, S.COMPLETED, S.PARTIALLY_RETURNED):
            _refuse(f"order is {self.s.status.value}; nothing left to hold")

    @workflow.update
    async def release(self, request: ActionRequest) -> OrderState:
        """Resume a held order where it stopped."""
        previous = self.s.status_before_hold or S.RECEIVED
        self.s.status_before_hold, self.s.hold_reason = None, None
        self._set_status(previous, "released", {"reason": request.reason})
        await self._project()
        return self.s

    @release.validator
    def _validate_release(self, request: ActionRequest) -> None:
        if not self.s.on_hold:
            _refuse(f"order is {self.s.status.value}, not on hold")

    @workflow.update
    async def change_address(self, change: AddressChange) -> OrderState:
        """Ship somewhere else; allowed until a label is bought."""
        self._address_lock = True
        try:
            await workflow.execute_activity_method(
                OrderActivities.validate_address,
                io.ValidateAddressInput(order_id=self.s.order_id, address=change.ship_to),
                **policies.QUICK,
            )
            labelled = self.s.any_label()
            if labelled:
                _refuse(f"a label was already bought for shipment {labelled.shipment_id}")
            self.s.order = self.s.order.model_copy(update={"ship_to": change.ship_to})
            self._event(
                "address_changed", {"city": change.ship_to.city, "country": change.ship_to.country}
            )
        finally:
            self._address_lock = False
        await self._project()
        return self.s

    @change_address.validator
    def _validate_change_address(self, change: AddressChange) -> None:
        self._refuse_when_closed("change the address of")
        labelled = self.s.any_label()
        if labelled:
            _refuse(
                f"a label was already bought for shipment {labelled.shipment_id}; "
                "reroute or cancel instead"
            )
        if self._address_lock:
            _refuse("another address change is in progress")

    # ---- signals and query -----------------------------------------------------------------------

    @workflow.signal
    def fulfilment_event(self, event: FulfilmentEvent) -> None:
        """A warehouse reports picked, packed or shipped."""
        sh = self.s.shipment(event.shipment_id)
        if sh is None or sh.status in SHIPPED_STATES or sh.status == "cancelled":
            workflow.logger.info("ignoring %s for shipment %s", event.type, event.shipment_id)
            return
        if event.type == "shipped":
            self._shipped.add(sh.shipment_id)
        else:
            sh.status = event.type
        self._event(f"shipment_{event.type}", {"shipment_id": sh.shipment_id})

    @workflow.signal
    def tracking_update(self, update: TrackingUpdate) -> None:
        """The tracking child saw a new carrier status."""
        sh = self.s.shipment(update.shipment_id)
        if sh is None or update.status not in ("in_transit", "out_for_delivery", "exception"):
            return
        sh.status = update.status  # type: ignore[assignment]
        alert = update.status == "exception"
        self._event(
            f"tracking_{update.status}",
            {
                "shipment_id": sh.shipment_id,
                "description": update.description,
                **({"alert": True} if alert else {}),
            },
        )

    @workflow.signal
    def stock_available(self) -> None:
        """Stock arrived somewhere: a backordered order tries to allocate again."""
        self._stock_signal = True

    @workflow.query
    def state(self) -> OrderState:
        """The full order state."""
        return self.s

    # ---- helpers ---------------------------------------------------------------------------------

    def _refuse_when_closed(self, action: str) -> None:
        if self.s.status in TERMINAL or self._finished:
            _refuse(f"cannot {action} an order that is {self.s.status.value}")
        if self.s.status in (S.DELIVERED, S.COMPLETED):
            _refuse(f"cannot {action} an order that is {self.s.status.value}; start a return")
        if self._cancel_requested:
            _refuse("cancellation is in progress")

    def _stopping(self) -> bool:
        return self._cancel_requested or self._aborted

    async def _checkpoint(self, allow_reroute: bool = False) -> None:
        """Wait while held; stop on a cancel, a sibling failure or (in fulfilment) a reroute."""
        await workflow.wait_condition(lambda: not self.s.on_hold or self._stopping())
        if self._stopping():
            raise _Stop()
        if self._reroute_pending and not allow_reroute:
            raise _Reroute()

    def _set_status(self, status: OrderStatus, event: str, detail: dict[str, Any]) -> None:
        if (
            self.s.on_hold
            and status not in (S.CANCELLED, S.FAILED, S.ON_HOLD)
            and event != "released"
        ):
            # Progress made while held (a parcel already in the warehouse's hands) shows on release.
            self.s.status_before_hold = status
        else:
            self.s.status = transition(self.s.status, status)
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(self.s.status.value)])
        self._event(event, detail)

    def _event(self, type_: str, detail: dict[str, Any]) -> None:
        self.s.events.append(
            TimelineEvent(
                key=f"wf:{len(self.s.events)}", at=workflow.now(), type=type_, detail=detail
            )
        )
        self.s.version += 1

    def _key(self, *parts: str) -> str:
        """Idempotency key from the workflow id and the step (never the run id)."""
        return ":".join((self.s.workflow_id, *parts))

    async def _notify(self, kind: str, context: dict[str, Any], ref: str = "") -> None:
        """Tell the customer; an outage of email never fails the order, it shows on the timeline."""
        try:
            await self._send(kind, context, ref)
        except ActivityError as err:
            self._event("notification_failed", {"kind": kind, "reason": _reason(err)})

    async def _send(self, kind: str, context: dict[str, Any], ref: str) -> None:
        await workflow.execute_activity_method(
            NotificationActivities.send_notification,
            io.NotifyInput(
                idempotency_key=self._key("notify", kind, *([ref] if ref else [])),
                order_id=self.s.order_id,
                kind=kind,
                to=self.s.order.customer.email,
                context=context,
            ),
            **policies.NOTIFY,
        )

    async def _project(self) -> None:
        """Write the read model; versioned so a late retry never overwrites newer state."""
        new_events = self.s.events[self._projected :]
        snapshot = io.ProjectOrderInput(
            order_id=self.s.order_id,
            version=self.s.version,
            status=self.s.status.value,
            hold=self.s.on_hold,
            failure_reason=self.s.failure_reason or self.s.cancel_reason,
            shipments=[s.model_dump(mode="json") for s in self.s.shipments],
            payments=[e.model_dump(mode="json") for e in self.s.payment.entries],
            routing=self.s.routing,
            ship_to=self.s.order.ship_to.model_dump(mode="json"),
            events=new_events,
        )
        await workflow.execute_local_activity_method(
            OrderActivities.project_order, snapshot, **policies.PROJECTION
        )
        self._projected = max(self._projected, len(self.s.events))


def _refuse(message: str) -> NoReturn:
    raise ApplicationError(message, type="ActionRefused", non_retryable=True)


def _reason(err: BaseException) -> str:
    """The innermost business message of an activity or child failure."""
    cause: BaseException | None = err
    while isinstance(cause, (ActivityError, ChildWorkflowError)) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return f"{cause.type}: {cause.message}"
    return str(cause)
