"""OrderWorkflow: one long-running workflow per order, from payment to the end of returns.

validate -> authorize -> route + reserve (backorder while short) -> per shipment in parallel:
label -> release to location -> wait for `shipped` -> commit stock -> capture -> track ->
delivered -> return window -> completed. Cancel and every failure run `_compensate`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities import io
    from activities.inventory import InventoryActivities
    from activities.orders import OrderActivities
    from activities.payments import PaymentActivities
    from activities.shipping import ShippingActivities
    from activities.warehouse import WarehouseActivities
    from domain.billing import capture_plan
    from domain.order_state import (
        OrderState,
        PaymentEntry,
        ShipmentLine,
        ShipmentState,
    )
    from domain.timings import OrderInput
    from workflows import policies
    from workflows.order_base import (
        CHANNEL_PAID,
        MAX_RESERVE_RACES,
        SHIPPED_STATES,
        S,
        _reason,
        _Reroute,
        _Stop,
    )
    from workflows.order_handlers import OrderHandlers
    from workflows.order_returns import OrderReturns
    from workflows.order_settlement import OrderSettlement
    from workflows.search_attributes import CHANNEL, LOCATION, ORDER_STATUS
    from workflows.tracking import ShipmentTrackingWorkflow, TrackingInput


@workflow.defn
class OrderWorkflow(OrderHandlers, OrderSettlement, OrderReturns):
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
        self._routing_passes = 0  # completed plans (reserved or backordered): reroute waits
        self._confirmed = False
        self._shipment_seq = 0
        self._projected = 0
        self._projected_ship_to = input.order.ship_to  # what the API stored with the order

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
        validated = await self._db_step(
            OrderActivities.validate_order,
            io.ValidateOrderInput(order_id=self.s.order_id, order=order),
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
        await self._return_window()
        if self.s.status != S.RETURNED:
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
        self._routing_passes += 1  # a plan outcome: waiting for stock
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
        self._routing_passes += 1  # a plan outcome: stock held, shipments planned
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
        await self._db_step(
            InventoryActivities.commit_stock,
            io.CommitStockInput(
                order_id=self.s.order_id,
                location_id=sh.location_id,
                line_ids=[x.line_id for x in sh.lines],
            ),
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
