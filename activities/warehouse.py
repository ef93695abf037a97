"""Warehouse activities: release a shipment to its location, or take the release back."""

from __future__ import annotations

import structlog
from temporalio import activity

from activities import io
from activities.payments import call
from integrations.warehouse.errors import AlreadyShipped
from integrations.warehouse.protocol import Warehouse

log = structlog.get_logger(__name__)


class WarehouseActivities:
    """Talks to the location's WMS (the sandbox warehouse by default)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse

    @activity.defn
    async def release_to_location(self, inp: io.ReleaseToLocationInput) -> str:
        """Tell the location to pick, pack and ship; returns the WMS release id."""
        ack = await call(
            self._warehouse.release(
                idempotency_key=inp.idempotency_key,
                shipment_id=inp.shipment_id,
                order_id=inp.order_id,
                workflow_id=inp.workflow_id,
                location_id=inp.location_id,
                lines=[x.model_dump() for x in inp.lines],
            )
        )
        log.info(
            "released to location",
            order_id=inp.order_id,
            shipment_id=inp.shipment_id,
            location_id=inp.location_id,
        )
        return ack.release_id

    @activity.defn
    async def cancel_release(self, inp: io.CancelReleaseInput) -> io.CancelReleaseResult:
        """Withdraw a release; reports (does not fail) when the parcel already left."""
        try:
            cancelled = await call(self._warehouse.cancel_release(shipment_id=inp.shipment_id))
        except Exception as err:
            if isinstance(err.__cause__, AlreadyShipped):
                log.warning(
                    "release already shipped", order_id=inp.order_id, shipment_id=inp.shipment_id
                )
                return io.CancelReleaseResult(cancelled=False, already_shipped=True)
            raise
        return io.CancelReleaseResult(cancelled=cancelled)
