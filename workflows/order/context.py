"""What every part of the order workflow shares: its state, timeline, read model and email.

`OrderContext` is handed to each part (fulfilment, allocation, money, returns) instead of
being inherited: the parts call it, it calls none of them.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.errors import ACTION_REFUSED
    from domain.order_state import OrderState, TimelineEvent
    from domain.states import OrderStatus, transition
    from domain.timings import Timings
    from workflows import policies
    from workflows.search_attributes import ORDER_STATUS

S = OrderStatus
CHANNEL_PAID = "channel-paid:"
# Runs started after this change validate the order and commit shipped stock as local
# activities. Routing and reservation stay regular activities: they are the decisions engineers
# look for by name in `temporal workflow show`, where a local activity is an opaque marker.
LOCAL_DB_STEPS = "local-db-steps-20261129"
# Runs started after the recomposition: holds per shipment, the backorder queue, parcels handed
# over to the carrier, return labels through `buy_label`, skipped payment for free orders.
RECOMPOSED = "recomposed-20261202"


class StopOrder(Exception):
    """Raised at a checkpoint when the order must stop (a cancel, or a sibling failed)."""


class RerouteRequested(Exception):
    """Raised at a checkpoint when ops asked to route the unshipped work again."""


def refuse(message: str) -> NoReturn:
    """Refuse an Update (the API answers 409 with `message`)."""
    raise ApplicationError(message, type=ACTION_REFUSED, non_retryable=True)


def reason_of(err: BaseException) -> str:
    """The innermost business message of an activity or child failure."""
    cause: BaseException | None = err
    while isinstance(cause, (ActivityError, ChildWorkflowError)) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return f"{cause.type}: {cause.message}"
    return str(cause)


class OrderContext:
    """The order's state and the plumbing every step uses."""

    def __init__(self, state: OrderState, timings: Timings) -> None:
        self.s = state
        self.timings = timings
        self.weights: dict[str, int] = {}
        # Address changes run one at a time, and no label is bought while one is under way.
        self.address_lock = asyncio.Lock()

    @property
    def order_id(self) -> str:
        """The order's id."""
        return self.s.order_id

    @property
    def workflow_id(self) -> str:
        """The order workflow's id (warehouses report to it)."""
        return self.s.workflow_id

    def labels_allowed(self) -> bool:
        """No address change is under way."""
        return not self.address_lock.locked()

    # ---- identity and the timeline ------------------------------------------------------------

    def key(self, *parts: str) -> str:
        """Idempotency key from the workflow id and the step (never the run id)."""
        return ":".join((self.s.workflow_id, *parts))

    def event(self, entry: tl.Entry) -> None:
        """Append to the timeline (projected with the next snapshot)."""
        self.s.events.append(
            TimelineEvent(
                key=f"wf:{len(self.s.events)}",
                at=workflow.now(),
                type=entry.type.value,
                detail=entry.detail,
            )
        )
        self.s.version += 1

    def set_status(self, status: OrderStatus, entry: tl.Entry) -> None:
        """Move the order's status (checked by the state machine) and record why."""
        if (
            self.s.on_hold
            and status not in (S.CANCELLED, S.FAILED, S.ON_HOLD)
            and entry.type != tl.EventType.RELEASED
        ):
            # Progress made while held (a parcel already in the warehouse's hands) shows on release.
            self.s.status_before_hold = status
        else:
            self.s.status = transition(self.s.status, status)
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(self.s.status.value)])
        self.event(entry)

    # ---- where the process stands -------------------------------------------------------------

    def stopping(self) -> bool:
        """A cancel was asked for, or a shipment failed for good."""
        return self.s.progress.cancel_requested or self.s.progress.aborted

    def wants_withdrawal(self) -> bool:
        """Released work should come back from the warehouse (stop, hold or reroute)."""
        return self.stopping() or self.s.on_hold or self.s.progress.reroute_pending

    async def checkpoint(self, allow_reroute: bool = False) -> None:
        """Wait while held; stop on a cancel or a sibling failure; in fulfilment, on a reroute."""
        await workflow.wait_condition(lambda: not self.s.on_hold or self.stopping())
        if self.stopping():
            raise StopOrder()
        if self.s.progress.reroute_pending and not allow_reroute:
            raise RerouteRequested()

    # ---- side effects everyone needs ----------------------------------------------------------

    async def db_step(self, ref: act.ActivityRef[Any, Any], arg: Any) -> Any:
        """A step that only reads or writes our own database: a local activity in new runs.

        A regular activity costs two trips through the server (schedule, complete) and a
        workflow task; a local activity runs inside the current task. Runs that began with
        regular activities keep them, so their histories replay.
        """
        if workflow.patched(LOCAL_DB_STEPS):
            return await ref.run_local(arg, policies.LOCAL_DB)
        return await ref.run(arg, policies.QUICK)

    async def notify(self, kind: str, context: dict[str, Any], ref: str = "") -> None:
        """Tell the customer; an outage of email never fails the order, it shows on the timeline."""
        try:
            await act.send_notification.run(
                io.NotifyInput(
                    idempotency_key=self.key("notify", kind, *([ref] if ref else [])),
                    order_id=self.s.order_id,
                    kind=kind,
                    to=self.s.order.customer.email,
                    context=context,
                ),
                policies.NOTIFY,
            )
        except ActivityError as err:
            self.event(tl.notification_failed(kind, reason_of(err)))

    async def project(self) -> None:
        """Write the read model; versioned so a late retry never overwrites newer state."""
        progress = self.s.progress
        new_events = self.s.events[progress.projected_events :]
        ship_to = self.s.order.ship_to
        # The address rides along only when it changed: the read model keeps it in the order's
        # document, which costs a read to rewrite.
        changed_ship_to = progress.projected_ship_to is not None and ship_to != (
            progress.projected_ship_to
        )
        snapshot = io.OrderSnapshot(
            order_id=self.s.order_id,
            version=self.s.version,
            status=self.s.status.value,
            hold=self.s.on_hold,
            failure_reason=self.s.failure_reason or self.s.cancel_reason,
            shipments=[s.model_dump(mode="json") for s in self.s.shipments],
            payments=[e.model_dump(mode="json") for e in self.s.payment.entries],
            routing=self.s.routing,
            ship_to=ship_to.model_dump(mode="json") if changed_ship_to else None,
            events=new_events,
            order_change=self._order_change(),
        )
        await act.project_order.run_local(snapshot, policies.PROJECTION)
        progress.projected_events = max(progress.projected_events, len(self.s.events))
        progress.projected_ship_to = ship_to
        progress.projected_changes = progress.changes_applied

    def _order_change(self) -> dict[str, Any] | None:
        """The order's lines and money for the read model, when a change moved them."""
        progress, order = self.s.progress, self.s.order
        if progress.projected_changes >= progress.changes_applied:
            return None
        return {
            "lines": [line.model_dump(mode="json") for line in order.lines],
            "shipping_service": order.shipping_service,
            "shipping_price": str(order.shipping_price),
            "tax_total": str(order.tax_total),
            "total": str(order.total),
        }
