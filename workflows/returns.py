"""ReturnWorkflow: one RMA, a child of its order, from label to refund or exchange.

label issued -> parcels received (the `receive` Update, a condition per line; several parcels
until every authorised unit is in, or the RMA expires) -> each parcel inspected (disposition
per line by condition and reason) and refunded by the order -> exchange replacements shipped
(when the returned unit's disposition allows) -> closed. Nothing arriving before the expiry
voids the label and closes the RMA as `expired`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.commands import FulfilmentEvent
    from domain.order_state import ShipmentLine, ShipmentState
    from domain.returns import (
        ReceiveRequest,
        RefundIssued,
        ReturnInput,
        ReturnOutcome,
        ReturnState,
        RmaLine,
    )
    from workflows import policies
    from workflows.order.context import refuse
    from workflows.order.fulfilment import Fulfilment

RECEIVABLE = ("label_issued", "in_transit", "partially_received")


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
        self._receipts: list[ReceiveRequest] = []
        self._refunds: list[Decimal] = []
        self._exchanges: dict[str, Fulfilment] = {}
        self._accepting = True
        self._inspected = 0
        self._version = 0

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnState:
        """Take parcels until all is in (or it expires), refund each, exchange, close."""
        await self._record()
        expires_at = workflow.now() + inp.timings.scaled(inp.expiry_s)
        last: list[RmaLine] = []
        while self._outstanding():
            remaining = max(timedelta(0), expires_at - workflow.now())
            try:
                await workflow.wait_condition(
                    lambda: len(self._receipts) > self.s.receipts, timeout=remaining
                )
            except TimeoutError:
                break
            last = await self._inspect(self._receipts[self.s.receipts])
            if self._outstanding():
                outcome = ReturnOutcome(
                    rma_id=inp.rma_id, status="received", parcel=self.s.receipts, lines=last
                )
                await self._settle(outcome)
        self._accepting = False
        if not self.s.receipts:
            await self._expire()
            return self.s
        exchanged, refund_instead = await self._ship_replacements()
        self.s.status = "refunding"
        await self._record()
        # The close carries the last parcel, unless the RMA expired after earlier ones (each
        # already refunded): then it only settles exchanges, under a refund key of its own.
        complete = not self._outstanding()
        outcome = ReturnOutcome(
            rma_id=inp.rma_id,
            status="closed",
            parcel=self.s.receipts if complete else self.s.receipts + 1,
            lines=last if complete else [],
            replacement_shipments=self.s.replacement_shipments,
            exchanged=exchanged,
            refund_instead=refund_instead,
        )
        await self._settle(outcome, final=True)
        self.s.status = "closed"
        await self._record()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s

    # ---- steps ------------------------------------------------------------------------------

    def _outstanding(self) -> bool:
        return any(x.received < x.quantity for x in self.s.lines)

    async def _inspect(self, receipt: ReceiveRequest) -> list[RmaLine]:
        """Apply one parcel: conditions, dispositions by rule, stock moved; its lines."""
        rules = self.inp.rules
        by_line = {x.line_id: x for x in self.s.lines}
        parcel: list[RmaLine] = []
        for got in receipt.lines:
            line = by_line[got.line_id]
            disposition = rules.disposition(got.condition, line.reason)
            line.received += got.quantity
            line.condition, line.disposition = got.condition, disposition
            exchange = (
                line.exchange_sku if rules.allows_exchange(disposition, line.reason) else None
            )
            parcel.append(
                line.model_copy(
                    update={
                        "received": got.quantity,
                        "exchange_sku": exchange,
                        "exchange_unit_price": line.exchange_unit_price if exchange else None,
                    }
                )
            )
        self.s.receipts += 1
        self.s.status = "received"
        await self._record()
        await act.apply_dispositions.run(
            io.DispositionInput(
                rma_id=self.inp.rma_id,
                order_id=self.inp.order_id,
                location_id=self.inp.location_id,
                lines=parcel,
                receipt=self.s.receipts,
            ),
            policies.QUICK,
        )
        self.s.status = "inspected" if not self._outstanding() else "partially_received"
        await self._record()
        self._inspected += 1  # the parcel's Update answers now
        return parcel

    async def _ship_replacements(self) -> tuple[dict[str, int], dict[str, int]]:
        """Reserve and ship the exchange SKUs; without stock the exchange becomes a refund.

        Returns (units exchanged, units to refund instead) per line.
        """
        rules = self.inp.rules
        wanted = [
            x
            for x in self.s.lines
            if x.exchange_sku
            and x.received
            and x.disposition is not None
            and rules.allows_exchange(x.disposition, x.reason)
        ]
        if not wanted:
            return {}, {}
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
        route = await act.route_order.run(
            io.RouteInput(
                order_id=self.inp.order_id,
                channel=self.inp.channel,
                ship_to=self.inp.customer_address,
                lines=lines,
                weights={},
            ),
            policies.QUICK,
        )
        by_location: dict[str, list[ShipmentLine]] = {}
        for a in route.allocations:
            by_location.setdefault(a.location_id, []).append(
                ShipmentLine(line_id=a.line_id, sku=a.sku, quantity=a.quantity)
            )
        ids = {loc: f"{self.inp.rma_id}-X{k}" for k, loc in enumerate(sorted(by_location), 1)}
        reserved = (
            not route.unallocated
            and (
                await act.reserve_stock.run(
                    io.ReserveInput(
                        order_id=self.inp.order_id, allocations=route.allocations, shipment_ids=ids
                    ),
                    policies.QUICK,
                )
            ).reserved
        )
        if not reserved:
            self.s.note = "replacement out of stock; refunded instead"
            return {}, {x.line_id: x.received for x in wanted}
        for location_id in sorted(by_location):
            sh = ShipmentState(
                shipment_id=ids[location_id],
                location_id=location_id,
                lines=by_location[location_id],
            )
            self.s.replacement_shipments.append(sh)
            fulfilment = Fulfilment(
                _ExchangeHost(self),
                sh,
                ship_to=lambda: self.inp.customer_address,
                service=self.inp.shipping_service,
                weights={},
                on_dispatched=self._dispatched,
            )
            self._exchanges[sh.shipment_id] = fulfilment
            await fulfilment.ship()
        return {x.line_id: x.received for x in wanted}, {}

    async def _dispatched(self, sh: ShipmentState) -> None:
        await self._record()

    async def _settle(self, outcome: ReturnOutcome, final: bool = False) -> None:
        """Tell the order what came in and wait for what it refunded."""
        told = len(self._refunds)
        parent = workflow.get_external_workflow_handle(self.inp.parent_workflow_id)
        await parent.signal("return_closed", outcome)
        await workflow.wait_condition(lambda: len(self._refunds) > told)
        self.s.refund_amount = sum(self._refunds, Decimal("0"))
        if not final:
            await self._record()

    async def _expire(self) -> None:
        """Nothing arrived in time: void the unused label and let the order forget the RMA."""
        self.s.status = "expired"
        voided = await act.void_label.run(
            io.VoidLabelInput(
                order_id=self.inp.order_id, carrier=self.inp.carrier, label_id=self.inp.label_id
            ),
            policies.QUICK,
        )
        self.s.note = "label voided" if voided else "label already scanned; not voided"
        await self._record()
        parent = workflow.get_external_workflow_handle(self.inp.parent_workflow_id)
        expired = ReturnOutcome(rma_id=self.inp.rma_id, status="expired")
        await parent.signal("return_closed", expired)
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _record(self) -> None:
        """Write the RMA read model (versioned)."""
        self._version += 1
        await act.record_return.run(
            io.RecordReturnInput(
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
            policies.QUICK,
        )

    # ---- handlers ---------------------------------------------------------------------------

    @workflow.update
    async def receive(self, request: ReceiveRequest) -> ReturnState:
        """A parcel arrived at the location; answers once its units are disposed of."""
        self._receipts.append(request)
        parcel = len(self._receipts)
        await workflow.wait_condition(lambda: self._inspected >= parcel)
        return self.s

    @receive.validator
    def _validate_receive(self, request: ReceiveRequest) -> None:
        if not self._outstanding():
            refuse(f"{self.s.rma_id} was already received")
        if self.s.status not in RECEIVABLE or not self._accepting:
            refuse(f"{self.s.rma_id} is {self.s.status}; nothing more can be received")
        if len(self._receipts) > self.s.receipts:
            refuse(f"{self.s.rma_id}: another parcel is being received; try again")
        lines = {x.line_id: x for x in self.s.lines}
        seen: set[str] = set()
        for index, line in enumerate(request.lines):
            rma_line = lines.get(line.line_id)
            if rma_line is None:
                refuse(f"lines[{index}].line_id: {self.s.rma_id} has no line {line.line_id!r}")
            if line.line_id in seen:
                refuse(f"lines[{index}].line_id: line {line.line_id!r} appears twice")
            seen.add(line.line_id)
            if line.quantity > rma_line.quantity - rma_line.received:
                already = f"; {rma_line.received} already received" if rma_line.received else ""
                refuse(
                    f"lines[{index}].quantity: {self.s.rma_id} authorised only "
                    f"{rma_line.quantity} unit(s) of line {line.line_id!r}{already}"
                )

    @workflow.signal
    def refund_issued(self, refund: RefundIssued) -> None:
        """The order refunded what a parcel (or the close) was owed."""
        self._refunds.append(refund.amount)

    @workflow.update
    async def report_fulfilment(self, event: FulfilmentEvent) -> str:
        """The location reports progress on a replacement shipment (refused: 409)."""
        fulfilment = self._exchanges.get(event.shipment_id)
        if fulfilment is None or not await fulfilment.report(event):
            refuse(f"shipment {event.shipment_id} is not released to the warehouse; do not ship it")
        return event.type

    @workflow.signal
    def fulfilment_event(self, event: FulfilmentEvent) -> None:
        """The same report as a signal (what warehouses sent before the Update existed)."""
        fulfilment = self._exchanges.get(event.shipment_id)
        if fulfilment is not None and not fulfilment.sh.has_shipped:
            if event.type == "shipped":
                fulfilment.mark_shipped(event)
            elif fulfilment.sh.released:
                fulfilment.sh.status = event.type

    @workflow.query
    def state(self) -> ReturnState:
        """The RMA as the workflow knows it."""
        return self.s


class _ExchangeHost:
    """The return workflow as a fulfilment host: its own keys and read model; never held."""

    def __init__(self, wf: ReturnWorkflow) -> None:
        self._wf = wf

    @property
    def order_id(self) -> str:
        return self._wf.inp.order_id

    @property
    def workflow_id(self) -> str:
        return workflow.info().workflow_id

    def key(self, *parts: str) -> str:
        return ":".join((workflow.info().workflow_id, *parts))

    def event(self, entry: tl.Entry) -> None:
        workflow.logger.info("%s %s", entry.type.value, entry.detail)

    async def project(self) -> None:
        await self._wf._record()

    async def checkpoint(self, allow_reroute: bool = False) -> None:
        return None

    def wants_withdrawal(self) -> bool:
        return False

    def labels_allowed(self) -> bool:
        return True

    async def db_step(self, ref: act.ActivityRef[Any, Any], arg: Any) -> Any:
        return await ref.run(arg, policies.QUICK)
