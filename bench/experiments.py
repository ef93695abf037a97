"""Prototypes of product changes, applied by monkeypatching inside the bench process only.

`--experiment NAME` measures a change before anyone makes it in the product:
- `no-stock-sync`: reserve/commit skip the signal-with-start to six channel sync workflows.
- `no-latency`: the sandbox gateway and carriers answer without their 50 ms simulated latency.
- `local-db`: validate/route/reserve/commit run as local activities.
- `local-notify`: send_notification runs as a local activity.
- `fast-warehouse`: the sandbox warehouse simulator polls every 10 ms instead of 50 ms.
"""

from __future__ import annotations

import functools
from typing import Any

from temporalio import workflow

NAMES = ("no-stock-sync", "no-latency", "local-db", "local-notify", "fast-warehouse")
LOCAL_SETS = {
    "local-db": {"validate_order", "route_order", "reserve_stock", "commit_stock"},
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


async def _no_sync(*_: Any, **__: Any) -> None:
    return None


def apply_before(names: tuple[str, ...]) -> None:
    """Patches that must be in place before the worker starts."""
    unknown = set(names) - set(NAMES)
    if unknown:
        raise SystemExit(f"unknown experiment(s): {', '.join(sorted(unknown))}")
    if "no-stock-sync" in names:
        import activities.stock_relay

        activities.stock_relay.StockChangeRelay.run = _no_sync  # type: ignore[method-assign]
    local = set().union(*(LOCAL_SETS[n] for n in names if n in LOCAL_SETS))
    if local:
        _as_local(local)


def apply_to_integrations(names: tuple[str, ...], integrations: Any) -> None:
    """Patches on the built adapters."""
    if "no-latency" in names:
        integrations.gateway._latency_s = 0.0
        for carrier in integrations.carriers.values():
            carrier._latency_s = 0.0
