"""InventorySyncWorkflow: one per channel, keeps its listings' availability in step with stock.

Stock changes arrive as `stock_changed` signals; a short window coalesces bursts (ten orders
for one SKU become one push), a token bucket kept in workflow state respects the channel's
rate limit, and the activity's retry policy rides out channel outages while new changes keep
queueing. The run continues as new when its history grows, carrying the queue and the bucket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities.io import InventorySyncInput, PushInventoryInput, StockChanged

# Unlimited attempts: a channel outage only delays pushes; later changes coalesce meanwhile.
PUSH = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=["UnknownChannel"],
    ),
)
# The window as a local activity: precise, and only a marker in the history.
SETTLE = workflow.LocalActivityConfig(start_to_close_timeout=timedelta(seconds=10))
SETTLE_PATCH = "sync-window-local-activity"
URGENT_PATCH = "sync-urgent-first"
# Continue-as-new even if the server never suggests it, so replays stay cheap.
MAX_HISTORY = 2_000
# The most recent levels the `state` query carries into the next run (the rest are in the store).
CARRIED_LEVELS = 1_000


class SyncState(BaseModel):
    """What the `state` query shows."""

    channel: str
    pending: dict[str, datetime]
    tokens: float
    pushes: int
    last_pushed: dict[str, int]


@workflow.defn
class InventorySyncWorkflow:
    """Pushes channel availability for SKUs whose stock changed."""

    @workflow.init
    def __init__(self, inp: InventorySyncInput) -> None:
        self._inp = inp
        self._pending: dict[str, datetime] = dict(inp.pending)
        self._tokens = float(inp.burst if inp.tokens is None else inp.tokens)
        self._refilled_at = inp.refilled_at
        self._pushes = inp.pushes
        self._last: dict[str, int] = dict(inp.last_pushed)
        self._urgent: set[str] = set(inp.urgent)

    @workflow.signal
    def stock_changed(self, change: StockChanged) -> None:
        """Queue SKUs; a SKU already queued keeps its first time, so the lag is honest."""
        for sku in change.skus:
            self._pending.setdefault(sku, change.since.get(sku, change.at))
        self._urgent.update(change.urgent)

    @workflow.query
    def state(self) -> SyncState:
        """Queue, bucket and the last level pushed per SKU."""
        return SyncState(
            channel=self._inp.channel,
            pending=self._pending,
            tokens=self._tokens,
            pushes=self._pushes,
            last_pushed=self._last,
        )

    @workflow.run
    async def run(self, inp: InventorySyncInput) -> None:
        """Coalesce, wait for tokens, push; forever (continuing as new)."""
        if self._refilled_at is None:
            self._refilled_at = workflow.now()
        while not self._should_continue_as_new():
            await workflow.wait_condition(
                lambda: bool(self._pending) or self._should_continue_as_new()
            )
            if not self._pending:
                break
            if inp.window_s > 0:
                if workflow.patched(SETTLE_PATCH):
                    await act.settle_changes.run_local(inp.window_s, SETTLE)
                else:
                    await workflow.sleep(inp.window_s)
            await self._take_token()
            await self._push(self._next_batch())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            inp.model_copy(
                update={
                    "pending": self._pending,
                    "tokens": self._tokens,
                    "refilled_at": self._refilled_at,
                    "pushes": self._pushes,
                    "last_pushed": dict(list(self._last.items())[-CARRIED_LEVELS:]),
                    "urgent": sorted(self._urgent & set(self._pending)),
                }
            )
        )

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested() or info.get_current_history_length() > MAX_HISTORY
        )

    def _refill(self) -> None:
        now = workflow.now()
        elapsed = (now - (self._refilled_at or now)).total_seconds()
        self._tokens = min(float(self._inp.burst), self._tokens + elapsed * self._inp.per_second)
        self._refilled_at = now

    async def _take_token(self) -> None:
        """Wait until at least one call is allowed."""
        self._refill()
        if self._tokens < 1:
            await workflow.sleep((1 - self._tokens) / self._inp.per_second)
            self._refill()

    def _next_batch(self) -> dict[str, datetime]:
        """The oldest queued SKUs, as many as the bucket allows now."""
        allowed = max(1, int(self._tokens))
        if workflow.patched(URGENT_PATCH):  # scarce SKUs first, then the oldest
            order = sorted(
                self._pending.items(), key=lambda kv: (kv[0] not in self._urgent, kv[1], kv[0])
            )
            self._urgent.difference_update(sku for sku, _ in order[:allowed])
        else:
            order = sorted(self._pending.items(), key=lambda kv: (kv[1], kv[0]))
        oldest = order[:allowed]
        for sku, _ in oldest:
            del self._pending[sku]
        return dict(oldest)

    async def _push(self, batch: dict[str, datetime]) -> None:
        try:
            result = await act.push_inventory.run(
                PushInventoryInput(channel=self._inp.channel, enqueued_at=batch), PUSH
            )
        except ActivityError as err:
            # Only a non-retryable failure gets here; the next change of these SKUs retries.
            workflow.logger.warning("inventory push dropped: %s", err.cause)
            return
        self._tokens -= len(result.pushed)
        self._pushes += 1
        for sku, level in result.pushed.items():
            self._last.pop(sku, None)  # newest last, so the carried tail is the most recent
            self._last[sku] = level
