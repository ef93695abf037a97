"""OrderWorkflow: one long-running workflow per order, from payment to the end of returns.

validate -> authorize -> allocate (route, hold per shipment, queue what is short) -> per
shipment in parallel: label -> release to location -> `shipped` -> commit, hand over, capture
-> track -> delivered -> return window -> completed. Ops changes are Updates answered once they
took effect; cancel and reroute act on what has not shipped.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import order_rules as rules
    from domain import timeline as tl
    from domain.commands import (
        ActionRequest,
        Actor,
        AddressChange,
        FulfilmentEvent,
        RerouteRequest,
        TrackingUpdate,
    )
    from domain.order_changes import ChangeAnswer, OrderChange
    from domain.order_state import OrderState
    from domain.returns import ReturnAuthorisation, ReturnOutcome, ReturnRequest
    from domain.states import OrderStatus
    from domain.timeline import EventType as E
    from domain.timings import OrderInput
    from workflows import policies
    from workflows.order.allocation import Allocator
    from workflows.order.changes import ChangeDesk
    from workflows.order.compensation import Compensation
    from workflows.order.context import (
        LOCAL_DB_STEPS,
        RECOMPOSED,
        OrderContext,
        StopOrder,
        refuse,
    )
    from workflows.order.ledger import PaymentLedger
    from workflows.order.returns import ReturnsDesk
    from workflows.order.shipping import Shipping
    from workflows.order.shop import ShopLink
    from workflows.search_attributes import CHANNEL, ORDER_STATUS

S = OrderStatus
BUSINESS_ERRORS = (ActivityError, ChildWorkflowError, ApplicationError)
BACKORDER_EXPIRED = "backorder deadline passed without stock"


@workflow.defn
class OrderWorkflow:
    """The life of one order."""

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self.s = OrderState(
            order_id=input.order_id, workflow_id=workflow.info().workflow_id, order=input.order
        )
        self.s.progress.projected_ship_to = input.order.ship_to  # what the API stored
        self.ctx = OrderContext(self.s, input.timings)
        self.unpaid = input.awaiting_payment
        self.shop = ShopLink(self.ctx, input.connection_id)
        self.money = PaymentLedger(self.ctx)
        self.stock = Allocator(self.ctx)
        self.returns = ReturnsDesk(self.ctx, self.money, input.return_rules, self.shop)
        self.shipping = Shipping(self.ctx, self.money, self.shop)
        self.undo = Compensation(self.ctx, self.money, self.shipping, self.shop)
        self.changes = ChangeDesk(self.ctx, self.money, self.shipping, self.undo, self.shop)

    # ---- the process -------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: OrderInput) -> OrderState:
        """Run the order to completion, cancellation or failure."""
        try:
            await self._take_order()
            await self._fulfil()
            await self._deliver()
        except (StopOrder, asyncio.CancelledError):
            await self.undo.stop()
        except BUSINESS_ERRORS as err:
            await self.undo.fail(err)
        await self.shop.settled()
        self.s.progress.finished = True
        await self.ctx.project()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s

    async def _take_order(self) -> None:
        order = self.s.order
        # New runs decide every patch before the first local activity: a query that lands
        # while one runs can end the workflow task early, and a patch first decided right after
        # it would replay at another point than it was recorded (Temporal core's handling of
        # local activities). Runs recorded before this decide LOCAL_DB_STEPS after it, as then.
        if workflow.patched(RECOMPOSED):
            workflow.patched(LOCAL_DB_STEPS)
            self.shop.decide()
        workflow.upsert_search_attributes(
            [ORDER_STATUS.value_set(self.s.status.value), CHANNEL.value_set(order.channel)]
        )
        self.ctx.event(tl.received(order.total, len(order.lines)))
        await self.ctx.project()
        validated = await self.ctx.db_step(
            act.validate_order, io.ValidateOrderInput(order_id=self.s.order_id, order=order)
        )
        self.ctx.weights.update(validated.weights)
        await self.ctx.checkpoint()
        if not self.unpaid:
            await self.money.authorize()

    async def _wait_for_payment(self) -> None:
        """Taken in unpaid: its stock is held, nothing ships until the shop is paid (or the
        deadline cancels the order); then the channel's payment is recorded."""
        if not self.unpaid:
            return
        self.unpaid = False
        progress = self.s.progress
        if not progress.paid_at_shop:
            before = self.s.status
            self.ctx.set_status(S.AWAITING_PAYMENT, tl.status(E.AWAITING_PAYMENT))
            await self.ctx.project()
            try:
                await workflow.wait_condition(
                    lambda: progress.paid_at_shop or self.ctx.stopping(),
                    timeout=self.ctx.timings.scaled(self.ctx.timings.unpaid_deadline_s),
                )
            except TimeoutError:
                self.s.cancel_reason = "the shop was not paid in time"
                progress.cancel_requested = True
            if self.ctx.stopping():
                raise StopOrder()
            self.ctx.set_status(before, tl.status(E.PAYMENT_RECEIVED_AT_SHOP))
        await self.money.authorize()
        await self.ctx.project()

    async def _fulfil(self) -> None:
        """Allocate what is open and ship it, until every line has shipped or been cancelled."""
        deadline = self.stock.deadline()
        while True:
            try:
                if self.s.open_lines():
                    planned = await self.stock.allocate()
                    await self._wait_for_payment()
                    if not self.s.progress.confirmed:
                        self.s.progress.confirmed = True
                        await self.ctx.notify("order_confirmed", {})
                    self.shipping.start(planned)
                while self.s.short_lines:
                    waited = await self.stock.wait_for_stock(deadline)
                    if waited == "stock":
                        self.shipping.start(await self.stock.allocate())
                        continue
                    if waited == "deadline":
                        await self.undo.cancel_short_lines(
                            "backorder deadline passed without stock"
                        )
                    break
            except StopOrder:
                if not self.shipping.under_way:
                    raise  # nothing under way: the whole order stops
            await workflow.wait_condition(lambda: self.shipping.settled() or self.changes.pending)
            if self.changes.pending:
                await self.changes.apply()
                continue
            if not await self._react():
                if self.changes.pending:
                    continue  # a change came in as the last parcel left: it decides
                self.s.progress.fulfilment_over = True
                return

    async def _react(self) -> bool:
        """After shipping settled: a failure, a cancel or a reroute; True to allocate again."""
        if self.shipping.failure is not None:
            raise self.shipping.failure
        if self.s.progress.cancel_requested:
            await self.undo.cancel_unshipped()
            return False
        if self.s.progress.reroute_pending:
            await self.undo.reroute()
            return True
        return bool(self.s.open_lines())

    async def _deliver(self) -> None:
        await workflow.wait_condition(self.shipping.done)
        if self.shipping.failure is not None:
            raise self.shipping.failure
        if self.s.progress.changes_applied:
            # A change may leave more captured than the order's total (shares of shipping and
            # tax captured before it): give that back.
            await self.money.true_up(self.s.order.total, "changes")
            await self.money.capture_balance(self.s.order.total, "changes")
        await self.money.void_rest()  # everything shipped: release what was not captured
        if not any(s.status == "delivered" for s in self.s.shipments):
            raise ApplicationError("no shipment was delivered", type="DeliveryFailed")
        self.ctx.set_status(S.DELIVERED, tl.status(E.DELIVERED))
        await self.ctx.notify("delivered", {})
        await self.ctx.project()
        await self.returns.keep_window_open()
        await workflow.wait_condition(self.shipping.done)  # exchange replacements included
        if self.s.status != S.RETURNED:
            self.ctx.set_status(S.COMPLETED, tl.status(E.COMPLETED))

    # ---- ops updates ---------------------------------------------------------------------------

    @workflow.update
    async def cancel(self, request: ActionRequest) -> OrderState:
        """Stop what has not shipped and undo it; answers once that is done (409: nothing was)."""
        why = rules.cancel_refusal(self.s)
        if why:
            refuse(why)
        progress, settled = self.s.progress, self.s.progress.cancels_settled
        progress.cancel_requested, progress.cancel_refusal = True, None
        self.s.cancel_reason = request.reason or "cancelled by ops"
        self.ctx.event(
            tl.by(tl.with_reason(E.CANCEL_REQUESTED, self.s.cancel_reason), request.actor)
        )
        await workflow.wait_condition(
            lambda: progress.cancels_settled > settled or progress.finished
        )
        if progress.cancel_refusal:
            refuse(progress.cancel_refusal)
        return self.s

    @cancel.validator
    def _validate_cancel(self, request: ActionRequest) -> None:
        _refuse_if(rules.cancel_refusal(self.s))

    @workflow.update
    async def reroute(self, request: RerouteRequest) -> OrderState:
        """Route unshipped work again without these locations (replacing earlier exclusions)."""
        _refuse_if(rules.reroute_refusal(self.s))
        progress = self.s.progress
        self.s.excluded_locations = sorted(set(request.exclude_locations))
        progress.reroute_pending, passes = True, progress.routing_passes
        self.ctx.event(
            tl.by(tl.reroute_requested(self.s.excluded_locations, request.reason), request.actor)
        )
        await workflow.wait_condition(
            lambda: (
                progress.finished
                or (not progress.reroute_pending and progress.routing_passes > passes)
            )
        )
        await workflow.wait_condition(
            lambda: (
                progress.finished
                or self.ctx.stopping()
                or (
                    self.s.status in (S.IN_FULFILLMENT, S.BACKORDERED, S.SHIPPED)
                    and not any(s.status == "pending" for s in self.s.shipments)
                )
            )
        )
        return self.s

    @reroute.validator
    def _validate_reroute(self, request: RerouteRequest) -> None:
        _refuse_if(rules.reroute_refusal(self.s))

    @workflow.update
    async def hold(self, request: ActionRequest) -> OrderState:
        """Pause what has not shipped; answers once released work is back from the warehouse."""
        _refuse_if(rules.hold_refusal(self.s))
        self.s.status_before_hold = self.s.status
        self.s.hold_reason = request.reason or "held by ops"
        self.ctx.set_status(
            S.ON_HOLD, tl.by(tl.with_reason(E.HELD, self.s.hold_reason), request.actor)
        )
        await self.ctx.project()
        await workflow.wait_condition(
            lambda: (
                self.s.progress.finished
                or not any(sh.released or sh.withdrawing for sh in self.s.open_shipments())
            )
        )
        if self.s.on_hold and not self.s.open_shipments() and not self.s.open_lines():
            self._lift_hold("everything shipped before the hold took effect")
            await self.ctx.project()
            refuse("shipments left before the hold took effect; nothing left to hold")
        return self.s

    @hold.validator
    def _validate_hold(self, request: ActionRequest) -> None:
        _refuse_if(rules.hold_refusal(self.s))

    @workflow.update
    async def release(self, request: ActionRequest) -> OrderState:
        """Resume a held order where it stopped."""
        _refuse_if(rules.release_refusal(self.s))
        self._lift_hold(request.reason, request.actor)
        await self.ctx.project()
        return self.s

    @release.validator
    def _validate_release(self, request: ActionRequest) -> None:
        _refuse_if(rules.release_refusal(self.s))

    def _lift_hold(self, reason: str, actor: Actor | None = None) -> None:
        previous = self.s.status_before_hold or S.RECEIVED
        self.s.status_before_hold, self.s.hold_reason = None, None
        self.ctx.set_status(previous, tl.by(tl.with_reason(E.RELEASED, reason), actor))

    @workflow.update
    async def change_address(self, change: AddressChange) -> OrderState:
        """Ship somewhere else; allowed until a label is bought."""
        async with self.ctx.address_lock:
            await act.validate_address.run(
                io.ValidateAddressInput(order_id=self.s.order_id, address=change.ship_to),
                policies.QUICK,
            )
            _refuse_if(rules.address_refusal(self.s))
            self.s.order = self.s.order.model_copy(update={"ship_to": change.ship_to})
            self.ctx.event(
                tl.by(tl.address_changed(change.ship_to.city, change.ship_to.country), change.actor)
            )
        await self.ctx.project()
        return self.s

    @change_address.validator
    def _validate_change_address(self, change: AddressChange) -> None:
        _refuse_if(rules.address_refusal(self.s))

    @workflow.update
    async def change_lines(self, change: OrderChange) -> ChangeAnswer:
        """Cancel units of lines, or edit the order (add, remove, quantities, service); answers
        once the change took effect and the new plan holds stock (409: why not)."""
        return await self.changes.make(change)

    @change_lines.validator
    def _validate_change_lines(self, change: OrderChange) -> None:
        _refuse_if(self.changes.refusal(change))

    @workflow.query
    def preview_change(self, change: OrderChange) -> ChangeAnswer:
        """What `change_lines` would do now, changing nothing."""
        return self.changes.preview(change)

    @workflow.update
    async def request_return(self, request: ReturnRequest) -> ReturnAuthorisation:
        """Authorise a return: RMA id, prepaid label, and a child workflow following it."""
        return await self.returns.authorise(request)

    @request_return.validator
    def _validate_request_return(self, request: ReturnRequest) -> None:
        _refuse_if(self.returns.refusal(request))

    # ---- the warehouse, the carrier, the inventory service, the RMAs --------------------------

    @workflow.update
    async def report_fulfilment(self, event: FulfilmentEvent) -> str:
        """A warehouse reports picked, packed or shipped; a `shipped` it must stop is a 409."""
        _refuse_if(rules.fulfilment_refusal(self.s, event))
        fulfilment = self.shipping.fulfilments.get(event.shipment_id)
        if fulfilment is None:
            return event.type  # an exchange replacement: already shipped by its RMA
        if not await fulfilment.report(event):
            refuse(
                f"shipment {event.shipment_id} was withdrawn from the warehouse before it "
                "shipped; stop the parcel"
            )
        return event.type

    @report_fulfilment.validator
    def _validate_report_fulfilment(self, event: FulfilmentEvent) -> None:
        _refuse_if(rules.fulfilment_refusal(self.s, event))

    @workflow.signal
    def fulfilment_event(self, event: FulfilmentEvent) -> None:
        """The same report as a signal (what warehouses sent before the Update existed)."""
        fulfilment = self.shipping.fulfilments.get(event.shipment_id)
        if fulfilment is None or not fulfilment.sh.is_open:
            workflow.logger.info("ignoring %s for shipment %s", event.type, event.shipment_id)
            return
        if event.type == "shipped":
            fulfilment.mark_shipped(event)
        else:
            fulfilment.sh.status = event.type
            self.ctx.event(tl.warehouse_report(event.type, event.shipment_id))

    @workflow.signal
    def tracking_update(self, update: TrackingUpdate) -> None:
        """The tracking child saw a new carrier status."""
        fulfilment = self.shipping.fulfilments.get(update.shipment_id)
        if fulfilment is not None:
            fulfilment.tracking_update(update)

    @workflow.signal
    def payment_received(self) -> None:
        """The shop was paid for an order taken in unpaid (repeats are harmless)."""
        self.s.progress.paid_at_shop = True

    @workflow.signal
    def stock_available(self) -> None:
        """Stock was set aside for a backordered line: allocate again."""
        self.s.progress.stock_signal = True

    @workflow.signal
    async def return_closed(self, outcome: ReturnOutcome) -> None:
        """An RMA received a parcel, closed or expired: refund, and track any exchange."""
        for sh in await self.returns.settle(outcome):
            self.shipping.follow(sh)

    @workflow.query
    def state(self) -> OrderState:
        """The full order state."""
        return self.s


def _refuse_if(why: str | None) -> None:
    if why:
        refuse(why)
