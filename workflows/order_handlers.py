"""Ops updates (with validators), warehouse and carrier signals, and the state query."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import io
    from activities.orders import OrderActivities
    from domain.commands import (
        ActionRequest,
        AddressChange,
        FulfilmentEvent,
        RerouteRequest,
        TrackingUpdate,
    )
    from domain.order_state import (
        OrderState,
    )
    from workflows import policies
    from workflows.order_base import SHIPPED_STATES, OrderBase, S, _refuse


class OrderHandlers(OrderBase):
    """How the outside world talks to a running order."""

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
