"""Shared state and plumbing of OrderWorkflow: status changes, timeline, projection, checkpoints.

The order workflow is split by concept (process, settlement, ops handlers); every part
derives from `OrderBase`, which holds the state they share.
"""

from __future__ import annotations

from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities import io
    from activities.notifications import NotificationActivities
    from activities.orders import OrderActivities
    from domain.order_state import (
        OrderState,
        ShipmentState,
        TimelineEvent,
    )
    from domain.states import TERMINAL, OrderStatus, transition
    from workflows import policies
    from workflows.search_attributes import ORDER_STATUS

S = OrderStatus
CHANNEL_PAID = "channel-paid:"
SHIPPED_STATES = {"shipped", "in_transit", "out_for_delivery", "delivered", "exception"}
# A route that keeps losing reservation races is treated like a shortage after this many tries.
MAX_RESERVE_RACES = 5
# Runs started after this change validate the order and commit shipped stock as local
# activities. Routing and reservation stay regular activities: they are the decisions engineers
# look for by name in `temporal workflow show`, where a local activity is an opaque marker.
LOCAL_DB_STEPS = "local-db-steps-20261129"


class _Stop(Exception):
    """Raised at a checkpoint when the order must stop (cancel requested or a sibling failed)."""


class _Reroute(Exception):
    """Raised at a checkpoint when ops asked to route the unshipped work again."""


class OrderBase:
    """State and helpers every part of the order workflow uses."""

    s: OrderState
    _timings: Any
    _weights: dict[str, int]
    _cancel_requested: bool
    _aborted: bool
    _finished: bool
    _shipped: set[str]
    _stock_signal: bool
    _address_lock: bool
    _reroute_pending: bool
    _routing_passes: int
    _confirmed: bool
    _shipment_seq: int
    _projected: int
    _projected_ship_to: Any

    # Steps implemented by OrderWorkflow, used by settlement and handlers.
    async def _cancel_release(self, sh: ShipmentState) -> bool:
        raise NotImplementedError

    async def _shipped_out(self, sh: ShipmentState) -> None:
        raise NotImplementedError

    async def _track(self, sh: ShipmentState) -> None:
        raise NotImplementedError

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

    async def _db_step(self, activity: Any, arg: Any) -> Any:
        """A step that only reads or writes our own database: a local activity in new runs.

        A regular activity costs two trips through the server (schedule, complete) and a
        workflow task; a local activity runs inside the current task. Runs that began with
        regular activities keep them, so their histories replay.
        """
        if workflow.patched(LOCAL_DB_STEPS):
            return await workflow.execute_local_activity_method(activity, arg, **policies.LOCAL_DB)
        return await workflow.execute_activity_method(activity, arg, **policies.QUICK)

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
        ship_to = self.s.order.ship_to
        # The address rides along only when it changed: the read model keeps it in the order's
        # document, which costs a read to rewrite.
        changed_ship_to = ship_to != self._projected_ship_to
        snapshot = io.ProjectOrderInput(
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
        )
        await workflow.execute_local_activity_method(
            OrderActivities.project_order, snapshot, **policies.PROJECTION
        )
        self._projected = max(self._projected, len(self.s.events))
        self._projected_ship_to = ship_to


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
