"""ChannelPullWorkflow: one run is one poll of one marketplace account (started by a Schedule)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.channels import ChannelActivities, PullInput, PullResult

# A poll reads every page and submits each order; the heartbeat shows it is alive per order.
PULL_TIMEOUT = timedelta(minutes=10)
PULL_HEARTBEAT = timedelta(seconds=60)
# The Schedule starts the next poll anyway; a poll that keeps failing should show as failed.
PULL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["UnknownChannel"],
)


@workflow.defn
class ChannelPullWorkflow:
    """Fetch orders changed since the stored cursor, submit them, advance the cursor."""

    @workflow.run
    async def run(self, inp: PullInput) -> PullResult:
        """One poll."""
        return await workflow.execute_activity_method(
            ChannelActivities.pull_channel_orders,
            inp,
            start_to_close_timeout=PULL_TIMEOUT,
            heartbeat_timeout=PULL_HEARTBEAT,
            retry_policy=PULL_RETRY,
        )
