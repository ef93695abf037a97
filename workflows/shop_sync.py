"""ShopSyncWorkflow: one run refreshes a connected shop's listing map, or pulls its orders.

Started by the connection's two Schedules (listings, orders) and by `POST
/v1/channel-connections/{id}/sync`, which waits for the result.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities.io import ShopSyncInput, ShopSyncResult

__all__ = ["ShopSyncInput", "ShopSyncResult", "ShopSyncWorkflow"]

# A sync reads every page of the catalogue (or of changed orders); a shop that throttles is
# retried after its Retry-After. Refusals (bad credentials) and a removed connection are final.
SYNC = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(minutes=10),
    heartbeat_timeout=timedelta(minutes=2),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=5,
        non_retryable_error_types=["ShopRefused", "ConnectionGone"],
    ),
)


@workflow.defn
class ShopSyncWorkflow:
    """One listing sync or one order pull of one connection."""

    @workflow.run
    async def run(self, inp: ShopSyncInput) -> ShopSyncResult:
        """Run it."""
        return await act.sync_shop.run(inp, SYNC)
