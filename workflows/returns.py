"""ReturnWorkflow: one RMA, a child of its order, from label to refund or exchange.

label issued -> (parcel on its way) -> received (the `receive` Update, with a condition per line)
-> inspected (disposition per line: restock, refurbish or write off) -> exchange replacements
shipped -> the order refunds (signal `return_closed`, answered by `refund_issued`) -> closed.
Nothing arriving before the expiry timer voids the label and closes the RMA as `expired`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import io
    from activities.inventory import InventoryActivities
    from activities.returns import DispositionInput, RecordReturnInput, ReturnActivities
    from activities.shipping import ShippingActivities
    from activities.warehouse import WarehouseActivities
    from domain.commands import FulfilmentEvent
    from domain.order_state import ShipmentLine, ShipmentState
    from domain.returns import (
        ReceiveRequest,
        RefundIssued,
        ReturnInput,
        ReturnOutcome,
        ReturnState,
        disposition_for,
    )
    from workflows import policies

RECEIVABLE = ("label_issued", "in_transit")


def _refuse(message: str) -> NoReturn:
    raise ApplicationError(message, type="ActionRefused", non_retryable=True)


@workflow.defn
class ReturnWorkflow:
    """The life of one RMA."""

    @workflow.init
    def __init__(self, inp: ReturnInput) -> None:
        self.inp = inp
        self.s = ReturnState(
            rma_id=inp.rma_id,
            order_id=inp.order_id,
            status="label_issued",
            location_id=inp.location_id,
            carrier=inp.carrier,
            tracking_number=inp.tracking_number,
            label_url=inp.label_url,
            lines=[line.model_copy() for line in inp.lines],
        )
        self._receipt: ReceiveRequest | None = None
        self._inspected = False
        self._refund: Decimal | None = None
        self._shipped: set[str] = set()
        self._version = 0

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnState:
        """Wait for the parcel (or expire), inspect, dispose, exchange, get refunded, close."""
        await self._record()
        try:
            await workflow.wait_condition(
                lambda: self._receipt is not None, timeout=inp.timings.scaled(inp.expiry_s)
            )
        except TimeoutError:
            await self._expire()
            return self.s
        await self._inspect()
        shipments = await self._ship_replacements()
        self.s.status = "refunding"
        await self._record()
        outcome = ReturnOutcome(
            rma_id=inp.rma_id,
            status="closed",
            lines=self.s.lines,
            replacement_shipments=shipments,
        )
        await self._tell_order(outcome)
        await workflow.wait_condition(lambda: self._refund is not None)
        self.s.refund_amount = self._refund
        self.s.status = "closed"
        await self._record()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s

    # ---- steps ------------------------------------------------------------------------------

    async def _inspect(self) -> None:
        """Apply the receipt, decide each line's disposition and move the stock."""
        assert self._receipt is not None
        by_line = {x.line_id: x for x in self._receipt.lines}
        for line in self.s.lines:
            got = by_line.get(line.line_id)
            if got is None:
                continue
            line.received, line.condition = got.quantity, got.condition
            line.disposition = disposition_for(got.condition)
        self.s.status = "received"
        await self._record()
        await workflow.execute_activity_method(
            ReturnActivities.apply_dispositions,
            DispositionInput(
                rma_id=self.inp.rma_id,
                order_id=self.inp.order_id,
                location_id=self.inp.location_id,
                lines=self.s.lines,
            ),
            **policies.QUICK,
        )
        self.s.status = "inspected"
        await self._record()
        self._inspected = True

    async def _ship_replacements(self) -> list[ShipmentState]:
        """Reserve and ship the exchange SKUs; without stock the exchange becomes a refund."""
        wanted = [x for x in self.s.lines if x.exchange_sku and x.received]
        if not wanted:
            return []
        self.s.status = "exchanging"
        await self._record()
        lines = [
            ShipmentLine(
                line_id=f"R{self.inp.rma_seq}:{x.line_id}"[:64],
                sku=x.exchange_sku or "",
                quantity=x.received,
            )
            for x in wanted
        ]
        route = await workflow.execute_activity_method(
            InventoryActivities.route_order,
            io.RouteInput(
                order_id=self.inp.order_id,
                channel=self.inp.channel,
                ship_to=self.inp.customer_address,
                lines=lines,
                weights={},
            ),
            **policies.QUICK,
        )
        reserved = (
            not route.unallocated
            and (
                await workflow.execute_activity_method(
                    InventoryActivities.reserve_stock,
                    io.ReserveInput(order_id=self.inp.order_id, allocations=route.allocations),
                    **policies.QUICK,
                )
            ).reserved
        )
        if not reserved:
            for x in wanted:  # no stock for the replacement: refund the unit instead
                x.exchange_sku, x.exchange_unit_price = None, None
            self.s.note = "replacement out of stock; refunded instead"
            return []
        by_location: dict[str, list[ShipmentLine]] = {}
        for a in route.allocations:
            by_location.setdefault(a.location_id, []).append(
                ShipmentLine(line_id=a.line_id, sku=a.sku, quantity=a.quantity)
            )
        for k, location_id in enumerate(sorted(by_location), start=1):
            sh = ShipmentState(
                shipment_id=f"{self.inp.rma_id}-X{k}",
                location_id=location_id,
                lines=by_location[location_id],
            )
            self.s.replacement_shipments.append(sh)
            await self._ship(sh)
        return self.s.replacement_shipments

    async def _ship(self, sh: ShipmentState) -> None:
        """Label, release to the location, wait for `shipped`, take the stock off the books."""
        label = await workflow.execute_activity_method(
            ShippingActivities.buy_label,
            io.BuyLabelInput(
                idempotency_key=self._key("label", sh.shipment_id),
                order_id=self.inp.order_id,
                shipment_id=sh.shipment_id,
                location_id=sh.location_id,
                ship_to=self.inp.customer_address,
                service=self.inp.shipping_service,
                lines=sh.lines,
                weights={},
            ),
            **policies.CARRIER,
        )
        sh.label_id, sh.carrier, sh.service = label.label_id, label.carrier, label.service
        sh.tracking_number, sh.label_url = label.tracking_number, label.label_url
        sh.rate, sh.status = label.rate, "label_purchased"
        await workflow.execute_activity_method(
            WarehouseActivities.release_to_location,
            io.ReleaseToLocationInput(
                idempotency_key=self._key("release", sh.shipment_id),
                order_id=self.inp.order_id,
                workflow_id=workflow.info().workflow_id,
                shipment_id=sh.shipment_id,
                location_id=sh.location_id,
                lines=sh.lines,
            ),
            **policies.QUICK,
        )
        sh.released, sh.status = True, "released"
        await self._record()
        await workflow.wait_condition(lambda: sh.shipment_id in self._shipped)
        await workflow.execute_activity_method(
            InventoryActivities.commit_stock,
            io.CommitStockInput(
                order_id=self.inp.order_id,
                location_id=sh.location_id,
                line_ids=[x.line_id for x in sh.lines],
            ),
            **policies.QUICK,
        )
        sh.status = "shipped"

    async def _expire(self) -> None:
        """Nothing arrived in time: void the unused label and let the order forget the RMA."""
        self.s.status = "expired"
        voided = await workflow.execute_activity_method(
            ShippingActivities.void_label,
            io.VoidLabelInput(
                order_id=self.inp.order_id, carrier=self.inp.carrier, label_id=self.inp.label_id
            ),
            **policies.QUICK,
        )
        self.s.note = "label voided" if voided else "label already scanned; not voided"
        await self._record()
        await self._tell_order(ReturnOutcome(rma_id=self.inp.rma_id, status="expired"))
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _tell_order(self, outcome: ReturnOutcome) -> None:
        parent = workflow.get_external_workflow_handle(self.inp.parent_workflow_id)
        await parent.signal("return_closed", outcome)

    async def _record(self) -> None:
        """Write the RMA read model (versioned)."""
        self._version += 1
        await workflow.execute_activity_method(
            ReturnActivities.record_return,
            RecordReturnInput(
                rma_id=self.s.rma_id,
                order_id=self.s.order_id,
                workflow_id=workflow.info().workflow_id,
                status=self.s.status,
                location_id=self.s.location_id,
                carrier=self.s.carrier,
                tracking_number=self.s.tracking_number,
                label_url=self.s.label_url,
                refund_amount=self.s.refund_amount,
                replacement_shipment_id=(
                    self.s.replacement_shipments[0].shipment_id
                    if self.s.replacement_shipments
                    else None
                ),
                version=self._version,
                lines=self.s.lines,
            ),
            **policies.QUICK,
        )

    def _key(self, *parts: str) -> str:
        return ":".join((workflow.info().workflow_id, *parts))

    # ---- handlers ---------------------------------------------------------------------------

    @workflow.update
    async def receive(self, request: ReceiveRequest) -> ReturnState:
        """The receiving location opened the parcel; answers once the units are disposed of."""
        self._receipt = request
        await workflow.wait_condition(lambda: self._inspected)
        return self.s

    @receive.validator
    def _validate_receive(self, request: ReceiveRequest) -> None:
        if self._receipt is not None:
            _refuse(f"{self.s.rma_id} was already received")
        if self.s.status not in RECEIVABLE:
            _refuse(f"{self.s.rma_id} is {self.s.status}; nothing more can be received")
        authorised = {x.line_id: x.quantity for x in self.s.lines}
        seen: set[str] = set()
        for index, line in enumerate(request.lines):
            if line.line_id not in authorised:
                _refuse(f"lines[{index}].line_id: {self.s.rma_id} has no line {line.line_id!r}")
            if line.line_id in seen:
                _refuse(f"lines[{index}].line_id: line {line.line_id!r} appears twice")
            seen.add(line.line_id)
            if line.quantity > authorised[line.line_id]:
                _refuse(
                    f"lines[{index}].quantity: {self.s.rma_id} authorised only "
                    f"{authorised[line.line_id]} unit(s) of line {line.line_id!r}"
                )

    @workflow.signal
    def refund_issued(self, refund: RefundIssued) -> None:
        """The order refunded what this return was owed."""
        self._refund = refund.amount

    @workflow.signal
    def fulfilment_event(self, event: FulfilmentEvent) -> None:
        """The location reports progress on a replacement shipment."""
        sh = next(
            (x for x in self.s.replacement_shipments if x.shipment_id == event.shipment_id), None
        )
        if sh is None or sh.status == "shipped":
            return
        if event.type == "shipped":
            self._shipped.add(sh.shipment_id)
        else:
            sh.status = event.type

    @workflow.query
    def state(self) -> ReturnState:
        """The RMA as the workflow knows it."""
        return self.s
