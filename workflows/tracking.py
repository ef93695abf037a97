"""ShipmentTrackingWorkflow: polls the carrier for one parcel until it is delivered or lost.

Backoff with jitter while nothing changes; each change is signalled to the order. Long runs
continue-as-new carrying what they know, so history stays small.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain.commands import TrackingUpdate
    from domain.timings import Timings
    from workflows import policies

FINAL = {"delivered", "returned_to_sender", "lost"}
BACKOFF = 1.5
# A parcel stuck in `exception` this long (business seconds) is declared lost.
LOST_AFTER_S = 3 * 24 * 3600.0


class TrackingInput(BaseModel):
    """What to track and what is known so far (carried across continue-as-new)."""

    order_id: str
    parent_workflow_id: str
    shipment_id: str
    carrier: str
    tracking_number: str
    timings: Timings
    last_status: str = "label_created"
    interval_s: float | None = None
    exception_for_s: float = 0.0
    polls: int = 0


@workflow.defn
class ShipmentTrackingWorkflow:
    """Tracks one shipment."""

    def __init__(self) -> None:
        self._status = "label_created"

    @workflow.run
    async def run(self, inp: TrackingInput) -> io.TrackingResult:
        """Poll until a final status; return the last tracking result."""
        t = inp.timings
        self._status = inp.last_status
        interval = inp.interval_s or t.tracking_poll_s
        exception_for = inp.exception_for_s
        polls = inp.polls
        while True:
            result = await act.poll_tracking.run(
                io.PollTrackingInput(
                    order_id=inp.order_id,
                    shipment_id=inp.shipment_id,
                    carrier=inp.carrier,
                    tracking_number=inp.tracking_number,
                ),
                policies.TRACKING,
            )
            polls += 1
            if result.status != self._status:
                self._status = result.status
                interval = t.tracking_poll_s
                await self._tell_order(inp, result)
            else:
                interval = min(interval * BACKOFF, t.tracking_poll_max_s)
            if result.status in FINAL:
                return result
            if result.status == "exception" and result.exception_reason == "lost":
                return result.model_copy(update={"status": "lost"})
            exception_for = exception_for + interval if result.status == "exception" else 0.0
            if exception_for >= LOST_AFTER_S:
                return result.model_copy(update={"status": "lost"})
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    inp.model_copy(
                        update={
                            "last_status": self._status,
                            "interval_s": interval,
                            "exception_for_s": exception_for,
                            "polls": polls,
                        }
                    )
                )
            jitter = 0.9 + 0.2 * workflow.random().random()
            await workflow.sleep(t.scaled(interval * jitter))

    async def _tell_order(self, inp: TrackingInput, result: io.TrackingResult) -> None:
        description = result.events[-1].description if result.events else ""
        parent = workflow.get_external_workflow_handle(inp.parent_workflow_id)
        await parent.signal(
            "tracking_update",
            TrackingUpdate(
                shipment_id=inp.shipment_id,
                status=result.status,
                description=description,
                at=workflow.now(),
            ),
        )

    @workflow.query
    def status(self) -> str:
        """The last carrier status seen."""
        return self._status
