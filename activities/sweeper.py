"""The sweeper: release what order workflows that ended abnormally left behind.

An order workflow undoes its own holds on every path it controls. One that is terminated from
the Temporal UI or CLI, times out, or fails outright cannot: its stock stays reserved, its
labels live, its authorization held, and the API can no longer act on it. The sweeper, run by a
Temporal Schedule, lists such runs (Temporal visibility), and for each order that still holds
something withdraws its warehouse releases, voids its unused labels, releases its stock and
backorder place, voids what its authorization still holds, and marks it failed with an alert.
Each step is idempotent, so a sweep that crashes halfway is finished by the next. The same
sweep expires the draft orders nobody confirmed in time (they hold nothing: a status change).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus

from activities import io
from integrations.carriers.errors import LabelAlreadyUsed, UnknownLabel
from integrations.carriers.protocol import Carrier
from integrations.errors import IntegrationError
from integrations.payments.protocol import PaymentGateway
from integrations.warehouse.errors import AlreadyShipped
from integrations.warehouse.protocol import Warehouse
from services import inventory as stock_service
from store import abandoned, drafts
from store.tables import Order

log = structlog.get_logger(__name__)
ABANDONED = {
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed out",
    WorkflowExecutionStatus.FAILED: "failed",
}
SHIPPED = {"shipped", "in_transit", "out_for_delivery", "delivered", "exception"}


def abandoned_query(task_queue: str, since: datetime) -> str:
    """Visibility query for this deployment's order runs that ended without finishing."""
    statuses = "', '".join(("Terminated", "TimedOut", "Failed"))
    return (
        f"WorkflowType = 'OrderWorkflow' AND TaskQueue = '{task_queue}' "
        f"AND ExecutionStatus IN ('{statuses}') "
        f"AND CloseTime > '{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    )


class SweeperActivities:
    """Undoes what abandoned orders hold, through the same adapters the workflows use."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        gateway: PaymentGateway,
        carriers: Mapping[str, Carrier],
        warehouse: Warehouse,
    ) -> None:
        self._sessions, self._gateway = sessions, gateway
        self._carriers, self._warehouse = carriers, warehouse

    @activity.defn
    async def sweep_abandoned_orders(self, inp: io.SweepInput) -> io.SweepResult:
        """Find order runs that ended abnormally and release what their orders still hold;
        mark the drafts whose time is up expired."""
        client = activity.client()
        now = datetime.now(UTC)
        since = now - timedelta(hours=inp.lookback_hours)
        result = io.SweepResult()
        async with self._sessions.begin() as session:
            result.expired_drafts = await drafts.expire_due(session, now, inp.limit)
        if result.expired_drafts:
            log.info("drafts expired", orders=result.expired_drafts)
        async for execution in client.list_workflows(abandoned_query(inp.task_queue, since)):
            activity.heartbeat(execution.id)
            async with self._sessions() as session:
                order = await abandoned.order_for_workflow(session, execution.id)
                if order is None or not await abandoned.holds_anything(session, order):
                    continue
            how = ABANDONED.get(execution.status or WorkflowExecutionStatus.TERMINATED, "ended")
            alerts = await self._release(order, how)
            result.swept.append(order.order_id)
            result.alerts.extend(f"{order.order_id}: {a['message']}" for a in alerts)
            if len(result.swept) >= inp.limit:
                break
        if result.swept:
            log.warning("abandoned orders released", orders=result.swept, alerts=result.alerts)
        return result

    async def _release(self, order: Order, how: str) -> list[dict[str, Any]]:
        bound = log.bind(order_id=order.order_id, workflow_id=order.workflow_id)
        alerts: list[dict[str, Any]] = []
        for sh in order.shipments or []:
            if sh.get("status") in SHIPPED or sh.get("shipped_reported"):
                continue
            alerts.extend(await self._withdraw(sh))
        await stock_service.release_for_order(
            self._sessions,
            activity.client(),
            order_id=order.order_id,
            reason=f"workflow {how}; released by the sweeper",
            leave_queue=True,
        )
        alerts.extend(await self._void_authorization(order))
        reason = f"its workflow was {how}; the sweeper released its stock, labels and payment hold"
        details = [{"message": reason, "alert": True}, *alerts]
        async with self._sessions.begin() as session:
            await abandoned.mark_released(session, order.order_id, reason, details)
        bound.warning("abandoned order released", how=how, alerts=len(alerts))
        return details

    async def _withdraw(self, sh: dict[str, Any]) -> list[dict[str, Any]]:
        """Withdraw the release and void the label of one unshipped shipment."""
        shipment_id = str(sh.get("shipment_id"))
        if sh.get("released"):
            try:
                await self._warehouse.cancel_release(shipment_id=shipment_id)
            except AlreadyShipped:
                return [_alert(shipment_id, "the warehouse had shipped it; follow it up by hand")]
        label_id, carrier = sh.get("label_id"), self._carriers.get(str(sh.get("carrier")))
        if not label_id or sh.get("label_voided") or carrier is None:
            return []
        try:
            await carrier.void_label(label_id=str(label_id))
        except (LabelAlreadyUsed, UnknownLabel) as err:
            return [_alert(shipment_id, f"label {label_id} could not be voided: {err}")]
        return []

    async def _void_authorization(self, order: Order) -> list[dict[str, Any]]:
        entries = order.payments or []
        auth = next((e for e in entries if e.get("kind") == "authorization"), None)
        if auth is None or auth.get("status") != "ok":
            return []  # nothing authorized by us (marketplace-paid, free, or declined)
        authorization_id = str(auth.get("reference") or "")
        if not authorization_id:
            return [_alert("", "the authorization id is unknown; void it in the gateway")]
        try:
            record = await self._gateway.get(authorization_id)
            if record.capturable > Decimal("0"):
                await self._gateway.void(
                    idempotency_key=f"{order.workflow_id}:sweep:void",
                    authorization_id=authorization_id,
                )
        except IntegrationError as err:
            if err.retryable:
                raise  # the activity retries the sweep; every step is idempotent
            return [_alert("", f"authorization {authorization_id} could not be voided: {err}")]
        return []


def _alert(shipment_id: str, message: str) -> dict[str, Any]:
    return {"shipment_id": shipment_id, "message": message, "alert": True}
