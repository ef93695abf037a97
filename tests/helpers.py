"""Waiting in tests: poll until a condition holds, never sleep and hope. One helper for all."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    *,
    until: Callable[[T], Any] = bool,
    timeout: float = 60.0,
    interval: float = 0.1,
    message: str | Callable[[T | None], str] = "condition not met in time",
) -> T:
    """Call `probe` until `until(value)` holds and return that value; fail after `timeout`.

    `until` may raise to give up early (an order that ended while we waited for it to ship);
    `message` may be a function of the last value, to say where things got stuck.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: T | None = None
    while True:
        result = probe()
        last = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
        if until(last):  # type: ignore[arg-type]
            return last  # type: ignore[return-value]
        if loop.time() >= deadline:
            raise AssertionError(message(last) if callable(message) else message)
        await asyncio.sleep(interval)
