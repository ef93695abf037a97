"""Prototypes of product changes, applied by monkeypatching inside the bench process only.

`--experiment NAME` measures a change before anyone makes it in the product:
- `no-stock-sync`: the stock-change relay does not run (no channel pushes at all).
- `local-decisions`: route_order and reserve_stock run as local activities too (the product
  keeps them regular so `temporal workflow show` names them).
- `local-notify`: send_notification runs as a local activity.
- `fast-warehouse`: the sandbox warehouse simulator polls every 10 ms instead of 50 ms.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from temporalio import workflow

NAMES = ("no-stock-sync", "local-decisions", "local-notify", "fast-warehouse")
LOCAL_SETS = {
    "local-decisions": {"route_order", "reserve_stock"},
    "local-notify": {"send_notification"},
}
LOCAL_OPTIONS = ("start_to_close_timeout", "schedule_to_close_timeout", "retry_policy")


def _as_local(names: set[str]) -> None:
    """Route calls of activity methods named in `names` to local activities (new runs only)."""
    original = workflow.execute_activity_method

    @functools.wraps(original)
    def patched(activity: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(activity, "__name__", "") in names:
            options = {k: v for k, v in kwargs.items() if k in LOCAL_OPTIONS}
            return workflow.execute_local_activity_method(activity, *args, **options)
        return original(activity, *args, **kwargs)

    workflow.execute_activity_method = patched  # type: ignore[assignment]


async def _idle(_: Any, stop: asyncio.Event) -> None:
    await stop.wait()


def apply_before(names: tuple[str, ...]) -> None:
    """Patches that must be in place before the worker starts."""
    unknown = set(names) - set(NAMES)
    if unknown:
        raise SystemExit(f"unknown experiment(s): {', '.join(sorted(unknown))}")
    if "no-stock-sync" in names:
        import activities.stock_relay

        activities.stock_relay.StockChangeRelay.run = _idle  # type: ignore[method-assign,assignment]
    local = set().union(*(LOCAL_SETS[n] for n in names if n in LOCAL_SETS))
    if local:
        _as_local(local)
