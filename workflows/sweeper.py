"""OrderSweepWorkflow: one sweep for orders whose workflow ended abnormally (run by a Schedule).

See `activities/sweeper.py`: terminated, timed-out or failed order runs leave stock reserved,
labels live and authorizations held; a sweep releases them and marks the orders failed.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io

# Reads visibility and undoes a few orders: generous, and alive per order through heartbeats.
SWEEP = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(minutes=10),
    heartbeat_timeout=timedelta(minutes=1),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=5,
    ),
)


def sweep_schedule_id(task_queue: str) -> str:
    """One sweeper schedule per deployment (its task queue), even in a shared namespace."""
    return f"oms-sweep-{task_queue}"


@workflow.defn
class OrderSweepWorkflow:
    """Release what abandoned orders hold."""

    @workflow.run
    async def run(self, inp: io.SweepInput) -> io.SweepResult:
        """One sweep."""
        return await act.sweep_abandoned_orders.run(inp, SWEEP)
