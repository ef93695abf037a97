"""In-memory stand-ins for every order activity, registered under the real names.

As in temporalio/samples-python: the real workflow code runs on a real Temporal server against
activities that only record what they were asked and answer as scripted, so a test can pin
the exact sequence of side effects (and of compensations) a scenario causes, in seconds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts, io
from domain.models import CanonicalOrder
from domain.order_state import RateChoice, Reservation, ShipmentLine
from domain.timings import OrderInput, Timings

FAST = Timings(time_scale=0.0001, return_window_s=60.0)


@dataclass
class Call:
    """One activity call: its name and its input."""

    name: str
    input: Any


@dataclass
class StubActivities:
    """Scripted answers; `calls` records every call in order."""

    calls: list[Call] = field(default_factory=list)
    # Locations with enough stock, in routing preference; empty: everything short.
    stocked: list[str] = field(default_factory=lambda: ["L1"])
    # Activity name -> an Event the stub waits on before answering (to hold a step open).
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    # Activity name -> an error to raise (non-retryable business error).
    failures: dict[str, str] = field(default_factory=dict)
    warehouse_already_shipped: bool = False

    def names(self) -> list[str]:
        """Names of the calls so far, without the read model and email noise."""
        quiet = {"project_order", "send_notification", "poll_tracking", "validate_order"}
        return [c.name for c in self.calls if c.name not in quiet]

    def inputs(self, name: str) -> list[Any]:
        """Inputs of every call of one activity."""
        return [c.input for c in self.calls if c.name == name]

    def activities(self) -> list[Callable[..., Any]]:
        """One stub per activity reference, under its real name."""
        return [self._stub(ref) for ref in contracts.ORDER_ACTIVITIES]

    def _stub(self, ref: contracts.ActivityRef[Any, Any]) -> Callable[..., Any]:
        answer = getattr(self, f"_{ref.name}", None)

        async def run(inp: Any) -> Any:
            self.calls.append(Call(ref.name, inp))
            gate = self.gates.get(ref.name)
            if gate is not None:
                await gate.wait()
            if ref.name in self.failures:
                raise ApplicationError(
                    self.failures[ref.name], type="PaymentStateError", non_retryable=True
                )
            return answer(inp) if answer is not None else None

        run.__annotations__ = {"inp": ref.input, "return": ref.output}
        run.__name__ = ref.name
        return activity.defn(name=ref.name)(run)

    # ---- answers -----------------------------------------------------------------------------

    def _validate_order(self, inp: io.ValidateOrderInput) -> io.ValidatedOrder:
        return io.ValidatedOrder(weights={x.sku: 500 for x in inp.order.lines})

    def _authorize_payment(self, inp: io.AuthorizeInput) -> io.AuthorizeResult:
        return io.AuthorizeResult(authorization_id="auth_1", amount=inp.amount, status="ok")

    def _increment_authorization(self, inp: io.IncrementInput) -> io.AuthorizeResult:
        return io.AuthorizeResult(authorization_id="auth_1", amount=inp.total, status="ok")

    def _trim_open_lines(self, inp: io.TrimLinesInput) -> int:
        return 0

    def _capture_payment(self, inp: io.PaymentOpInput) -> io.PaymentOpResult:
        return io.PaymentOpResult(status="captured", amount=inp.amount)

    def _void_payment(self, inp: io.PaymentOpInput) -> io.PaymentOpResult:
        return io.PaymentOpResult(status="voided", amount=Decimal("0"))

    def _refund_payment(self, inp: io.PaymentOpInput) -> io.PaymentOpResult:
        return io.PaymentOpResult(status="refunded", amount=inp.amount)

    def _route_order(self, inp: io.RouteInput) -> io.RouteResult:
        usable = [x for x in self.stocked if x not in inp.exclude_locations]
        if not usable:
            return io.RouteResult(
                allocations=[], unallocated=inp.lines, decision={}, eligible_locations=[]
            )
        allocations = [
            Reservation(line_id=x.line_id, sku=x.sku, location_id=usable[0], quantity=x.quantity)
            for x in inp.lines
        ]
        return io.RouteResult(
            allocations=allocations, unallocated=[], decision={}, eligible_locations=usable
        )

    def _reserve_stock(self, inp: io.ReserveInput) -> io.ReserveResult:
        return io.ReserveResult(reserved=True)

    def _release_stock(self, inp: io.ReleaseStockInput) -> int:
        return 1

    def _commit_stock(self, inp: io.CommitStockInput) -> int:
        return 1

    def _buy_label(self, inp: io.BuyLabelInput) -> io.LabelResult:
        rate = RateChoice(carrier="stubship", service="standard", amount=Decimal("5.00"))
        return io.LabelResult(
            label_id=f"lbl_{inp.shipment_id}",
            carrier="stubship",
            service="standard",
            tracking_number=f"TRK{uuid.uuid4().hex[:8]}",
            label_url="http://oms.test/label",
            rate=rate,
            alternatives=[],
        )

    def _void_label(self, inp: io.VoidLabelInput) -> bool:
        return True

    def _release_to_location(self, inp: io.ReleaseToLocationInput) -> str:
        return f"rel_{inp.shipment_id}"

    def _cancel_release(self, inp: io.CancelReleaseInput) -> io.CancelReleaseResult:
        if self.warehouse_already_shipped:
            return io.CancelReleaseResult(cancelled=False, already_shipped=True)
        return io.CancelReleaseResult(cancelled=True)

    def _poll_tracking(self, inp: io.PollTrackingInput) -> io.TrackingResult:
        return io.TrackingResult(status="delivered")

    def _send_notification(self, inp: io.NotifyInput) -> str:
        return "logged"


def order_input(*, lines: int = 1, total: str = "19.99") -> OrderInput:
    """A small web order for the stub worker."""
    order = CanonicalOrder.model_validate(
        {
            "channel": "web",
            "external_id": uuid.uuid4().hex[:10],
            "customer": {"email": "ann@example.com", "name": "Ann Lee"},
            "ship_to": {
                "name": "Ann Lee",
                "line1": "1 Main St",
                "city": "Austin",
                "region": "TX",
                "postal_code": "78701",
                "country": "US",
            },
            "lines": [
                {"line_id": str(n), "sku": f"SKU-{n}", "quantity": 1, "unit_price": total}
                for n in range(1, lines + 1)
            ],
            "currency": "USD",
            "payment": {"method": "card", "token": "tok_visa"},
        }
    )
    return OrderInput(order_id=f"ord_{order.external_id}", order=order, timings=FAST)


def lines_of(inp: io.ReleaseToLocationInput) -> list[ShipmentLine]:
    """The lines a release asked for."""
    return inp.lines
