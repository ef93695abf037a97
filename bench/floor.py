"""The Temporal floor: a bare workflow with the OrderWorkflow's number of sequential steps.

A one-shipment order (tests/histories/order_delivered.json) runs 12 activities and 7 local
activities (the read-model projection), in this order; `L` is a local activity, `A` a regular
one. The floor runs the same sequence of no-ops, so the ratio pipeline/floor is what the
OMS's own work costs over Temporal's per-step overhead on this machine.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

# validate, authorize, route, reserve, notify, label, release, commit, capture, notify, poll,
# notify; with a projection (L) where the order projects.
ORDER_STEPS = "LAALAAAALALAAALAALL"
STEP_TIMEOUT = timedelta(seconds=30)


class FloorInput(BaseModel):
    """The step pattern to run (`A` activity, `L` local activity) and a payload to carry."""

    steps: str = ORDER_STEPS
    payload: str = ""


@activity.defn(name="bench_noop")
async def noop(payload: str) -> str:
    """Does nothing, returns its input."""
    return payload


@workflow.defn(name="BenchFloorWorkflow")
class FloorWorkflow:
    """Runs the step pattern sequentially; nothing else."""

    @workflow.run
    async def run(self, inp: FloorInput) -> int:
        """Execute each step in order; returns the number of steps."""
        for step in inp.steps:
            if step == "L":
                await workflow.execute_local_activity(
                    noop, inp.payload, start_to_close_timeout=STEP_TIMEOUT
                )
            else:
                await workflow.execute_activity(
                    noop, inp.payload, start_to_close_timeout=STEP_TIMEOUT
                )
        return len(inp.steps)
