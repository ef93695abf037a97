"""ChannelPullWorkflow: one run is one poll of one marketplace account (started by a Schedule)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities.io import PullInput, PullResult

# A poll reads every page and submits each order; the heartbeat shows it is alive per order.
# The Schedule starts the next poll anyway; a poll that keeps failing should show as failed.
PULL = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(minutes=10),
    heartbeat_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=5,
        non_retryable_error_types=["UnknownChannel"],
    ),
)


@workflow.defn
class ChannelPullWorkflow:
    """Fetch orders changed since the stored cursor, submit them, advance the cursor."""

    @workflow.run
    async def run(self, inp: PullInput) -> PullResult:
        """One poll."""
        return await act.pull_channel_orders.run(inp, PULL)
