"""Waiting in tests: poll a condition until it holds, never sleep and hope."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    *,
    timeout: float = 60.0,
    interval: float = 0.05,
    message: str | Callable[[T | None], str] = "condition not met in time",
) -> T:
    """Call `probe` until it returns something truthy, and return that; fail after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: T | None = None
    while True:
        result = probe()
        last = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
        if last:
            return last
        if asyncio.get_running_loop().time() >= deadline:
            text = message(last) if callable(message) else message
            raise AssertionError(text)
        await asyncio.sleep(interval)
