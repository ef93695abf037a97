"""Warehouse reports into the order process: picked, packed and shipped, answered yes or no.

Both the API (`POST /v1/shipments/{id}/events`, what a WMS calls) and the sandbox warehouse
send reports through here. A report is an Update, so a `shipped` the order must refuse (its
release was withdrawn: the WMS must stop the parcel) comes back as a refusal, not an accepted
signal that is silently ignored.
"""

from __future__ import annotations

import re
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.commands import FulfilmentEvent
from domain.errors import NotFound, Refused, Unavailable
from store.tables import Order
from workflows.order.workflow import OrderWorkflow
from workflows.returns import ReturnWorkflow

log = structlog.get_logger(__name__)
# A `shipped` is answered within seconds when a worker is up; past this the WMS retries.
ANSWER_WITHIN = timedelta(seconds=10)
# `<order_id>-S<n>` ships an order; `RMA-<order_id>-<n>-X<k>` an exchange of its RMA n.
ORDER_SHIPMENT = re.compile(r"^(?P<order>.+)-S\d+$")
EXCHANGE_SHIPMENT = re.compile(r"^RMA-(?P<order>.+)-(?P<rma>\d+)-X\d+$")


async def workflow_for(session: AsyncSession, shipment_id: str) -> str:
    """The workflow a shipment's reports go to (the order's, or its RMA's for an exchange)."""
    exchange = EXCHANGE_SHIPMENT.match(shipment_id)
    match = exchange or ORDER_SHIPMENT.match(shipment_id)
    row = await session.get(Order, match.group("order")) if match else None
    if row is None:
        raise NotFound(f"no shipment {shipment_id!r}")
    if exchange:
        return f"{row.workflow_id}:return:{exchange.group('rma')}"
    if not any(s.get("shipment_id") == shipment_id for s in row.shipments or []):
        raise NotFound(f"no shipment {shipment_id!r}")
    return row.workflow_id


async def report(client: Client, workflow_id: str, event: FulfilmentEvent) -> str:
    """Deliver one warehouse report; `Refused` (409) when the order cannot take it.

    `shipped` is an Update, answered once the order accepted or refused it (a withdrawal
    under way is waited for). `picked` and `packed` only inform: they go as signals, which
    costs the warehouse no wait, and a finished order still refuses them.
    """
    handle = client.get_workflow_handle(workflow_id)
    exchange = ":return:" in workflow_id
    try:
        if event.type != "shipped":
            signal = ReturnWorkflow.fulfilment_event if exchange else OrderWorkflow.fulfilment_event
            await handle.signal(signal, event)
            return event.type
        if exchange:
            return await handle.execute_update(
                ReturnWorkflow.report_fulfilment, event, rpc_timeout=ANSWER_WITHIN
            )
        return await handle.execute_update(
            OrderWorkflow.report_fulfilment, event, rpc_timeout=ANSWER_WITHIN
        )
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        # No worker took it in time (a deploy, an outage): the WMS should send it again.
        raise Unavailable(
            f"shipment {event.shipment_id}: the order did not answer in time; send it again"
        ) from err
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        log.info("warehouse report refused", shipment_id=event.shipment_id, reason=message)
        raise Refused(message) from err
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Refused(
                f"shipment {event.shipment_id}: its order's process has ended; "
                "nothing more can be reported"
            ) from err
        raise
