"""One parcel's way out: label, release to the location, wait for `shipped`, commit, hand over.

`Fulfilment` is composed into the order workflow (one per shipment) and into the return
workflow (one per exchange replacement); its host gives it the plumbing (timeline, read model,
checkpoints). The warehouse handshake lives here: once ops stop, hold or reroute released work,
the withdrawal reaches the WMS before anything is undone, and a `shipped` report that arrives
meanwhile waits for the WMS's answer: accepted when the parcel had left, refused otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.commands import FulfilmentEvent, TrackingUpdate
    from domain.models import Address
    from domain.shipments import ShipmentState
    from domain.timeline import EventType as E
    from domain.timings import Timings
    from workflows import policies
    from workflows.order.context import RECOMPOSED
    from workflows.tracking import ShipmentTrackingWorkflow, TrackingInput

TRACKED = ("in_transit", "out_for_delivery", "exception")


class Recalled(Exception):
    """The shipment was taken back before it left: an order change plans it again."""


class FulfilmentHost(Protocol):
    """What a fulfilment needs from the workflow it runs in."""

    @property
    def order_id(self) -> str:
        """The order the parcel belongs to."""
        ...

    @property
    def workflow_id(self) -> str:
        """The workflow the warehouse reports to."""
        ...

    def key(self, *parts: str) -> str:
        """An idempotency key for a step."""
        ...

    def event(self, entry: tl.Entry) -> None:
        """Record on the timeline."""
        ...

    async def project(self) -> None:
        """Write the read model."""
        ...

    async def checkpoint(self, allow_reroute: bool = False) -> None:
        """Wait while held; raise to stop or reroute."""
        ...

    def wants_withdrawal(self) -> bool:
        """Released work should come back from the warehouse."""
        ...

    def labels_allowed(self) -> bool:
        """No address change is under way (a label fixes the address)."""
        ...

    async def db_step(self, ref: act.ActivityRef[Any, Any], arg: Any) -> Any:
        """Run a database-only step."""
        ...


class Fulfilment:
    """Ships one `ShipmentState` and follows it to the door."""

    def __init__(
        self,
        host: FulfilmentHost,
        sh: ShipmentState,
        *,
        ship_to: Callable[[], Address],
        service: str,
        weights: dict[str, int],
        on_dispatched: Callable[[ShipmentState], Awaitable[None]],
        legacy_holds: bool = False,
    ) -> None:
        self.host, self.sh = host, sh
        self._ship_to, self._service, self._weights = ship_to, service, weights
        self._on_dispatched = on_dispatched
        # Holds made before they were per shipment are committed per location.
        self._legacy_holds = legacy_holds
        # An order change takes this shipment back to plan it again (its contents change).
        self.recalled = False

    # ---- the way out ---------------------------------------------------------------------------

    async def ship(self) -> None:
        """Until the parcel has left and the order has done its part (raises to stop or reroute)."""
        sh = self.sh
        await self._checkpoint()
        await workflow.wait_condition(self.host.labels_allowed)
        if not sh.label_id:
            await self._buy_label()
        while not sh.shipped_reported:
            await self._checkpoint()
            await self._release()
            await workflow.wait_condition(
                lambda: sh.shipped_reported or self.host.wants_withdrawal() or self.recalled
            )
            if sh.shipped_reported or not await self.withdraw():
                break
        await self._dispatch()

    async def _checkpoint(self) -> None:
        await self.host.checkpoint()
        if self.recalled:
            raise Recalled()

    async def _buy_label(self) -> None:
        sh = self.sh
        label = await act.buy_label.run(
            io.BuyLabelInput(
                idempotency_key=self.host.key("label", sh.shipment_id),
                order_id=self.host.order_id,
                shipment_id=sh.shipment_id,
                location_id=sh.location_id,
                ship_to=self._ship_to(),
                service=self._service,
                lines=sh.lines,
                weights=self._weights,
            ),
            policies.CARRIER,
        )
        sh.label_id, sh.carrier, sh.service = label.label_id, label.carrier, label.service
        sh.tracking_number, sh.label_url = label.tracking_number, label.label_url
        sh.rate, sh.rate_alternatives = label.rate, label.alternatives
        sh.status = "label_purchased"
        self.host.event(
            tl.label_purchased(
                sh.shipment_id,
                label.carrier,
                label.service,
                label.tracking_number,
                label.rate.amount,
                [f"{r.carrier} {r.service} {r.amount}" for r in label.alternatives],
            )
        )
        await self.host.project()

    async def _release(self) -> None:
        sh = self.sh
        sh.releases += 1
        sh.releasing = True
        try:
            await act.release_to_location.run(
                io.ReleaseToLocationInput(
                    idempotency_key=self.host.key("release", sh.shipment_id, str(sh.releases)),
                    order_id=self.host.order_id,
                    workflow_id=self.host.workflow_id,
                    shipment_id=sh.shipment_id,
                    location_id=sh.location_id,
                    lines=sh.lines,
                ),
                policies.QUICK,
            )
        finally:
            sh.releasing = False
        sh.released = True
        if sh.status in ("pending", "label_purchased"):
            sh.status = "released"
        self.host.event(tl.released_to_location(sh.shipment_id, sh.location_id))
        await self.host.project()

    async def withdraw(self) -> bool:
        """Take the release back from the warehouse; False when the parcel had already left."""
        sh = self.sh
        sh.withdrawing = True
        try:
            result = await act.cancel_release.run(
                io.CancelReleaseInput(order_id=self.host.order_id, shipment_id=sh.shipment_id),
                policies.UNDO,
            )
        finally:
            sh.withdrawing = False
        if result.already_shipped:
            if not sh.shipped_reported:
                sh.shipped_reported, sh.shipped_at = True, workflow.now()
            return False
        sh.released = False
        sh.status = "label_purchased"
        self.host.event(tl.shipment(E.RELEASE_WITHDRAWN, sh.shipment_id))
        await self.host.project()
        return True

    async def _dispatch(self) -> None:
        """The parcel left: its stock leaves the books, the carrier takes it, the order follows."""
        sh = self.sh
        await self.host.db_step(
            act.commit_stock,
            io.CommitStockInput(
                order_id=self.host.order_id,
                location_id=sh.location_id,
                line_ids=[x.line_id for x in sh.lines],
                hold_id=None if self._legacy_holds else sh.shipment_id,
            ),
        )
        if sh.label_id and sh.carrier and workflow.patched(RECOMPOSED):
            await act.hand_over_parcel.run(
                io.HandOverInput(
                    idempotency_key=self.host.key("handover", sh.shipment_id),
                    order_id=self.host.order_id,
                    shipment_id=sh.shipment_id,
                    carrier=sh.carrier,
                    label_id=sh.label_id,
                ),
                policies.CARRIER,
            )
        sh.status = "shipped"
        await self._on_dispatched(sh)
        sh.dispatched = True

    # ---- warehouse reports (from the host's Update or signal) ---------------------------------

    async def report(self, event: FulfilmentEvent) -> bool:
        """Take a warehouse report; False when a `shipped` came after a successful withdrawal."""
        sh = self.sh
        if event.type != "shipped":
            if not sh.has_shipped and sh.released:
                sh.status = event.type
                self.host.event(tl.warehouse_report(event.type, sh.shipment_id))
            return True
        if sh.withdrawing or sh.releasing:
            # The withdrawal's answer decides whether the parcel had left; a release in flight
            # is acknowledged first (the warehouse reported before its answer reached us).
            await workflow.wait_condition(lambda: not sh.withdrawing and not sh.releasing)
        if sh.has_shipped:
            return True
        if not sh.released:
            return False
        self.mark_shipped(event)
        return True

    def mark_shipped(self, event: FulfilmentEvent) -> None:
        """Record the warehouse's `shipped` (the way-out loop takes it from here)."""
        sh = self.sh
        sh.shipped_reported, sh.shipped_at = True, event.at or workflow.now()
        self.host.event(tl.shipment(E.SHIPMENT_SHIPPED, sh.shipment_id))

    # ---- to the door ---------------------------------------------------------------------------

    async def track(self, timings: Timings) -> io.TrackingResult:
        """A first scan check here, then a child workflow follows the parcel to the door."""
        sh = self.sh
        assert sh.carrier and sh.tracking_number
        first = await act.poll_tracking.run(
            io.PollTrackingInput(
                order_id=self.host.order_id,
                shipment_id=sh.shipment_id,
                carrier=sh.carrier,
                tracking_number=sh.tracking_number,
            ),
            policies.TRACKING,
        )
        # The carrier may have scanned the parcel by the first look (it took it at hand-over).
        description = first.events[-1].description if first.events else ""
        self.tracking_update(
            TrackingUpdate(shipment_id=sh.shipment_id, status=first.status, description=description)
        )
        result = await workflow.execute_child_workflow(
            ShipmentTrackingWorkflow.run,
            TrackingInput(
                order_id=self.host.order_id,
                parent_workflow_id=self.host.workflow_id,
                shipment_id=sh.shipment_id,
                carrier=sh.carrier,
                tracking_number=sh.tracking_number,
                timings=timings,
                last_status=first.status,
            ),
            id=f"{self.host.workflow_id}:track:{sh.shipment_id}",
        )
        if result.status == "delivered":
            sh.status = "delivered"
            sh.delivered_at = result.delivered_at
            self.host.event(tl.shipment(E.SHIPMENT_DELIVERED, sh.shipment_id))
        else:
            sh.status = "exception"
        return result

    def tracking_update(self, update: TrackingUpdate) -> None:
        """The tracking child saw a new carrier status."""
        sh = self.sh
        if update.status not in TRACKED or sh.status == "delivered":
            return
        sh.status = update.status  # type: ignore[assignment]
        self.host.event(tl.tracking(update.status, sh.shipment_id, update.description))
