"""Base of every adapter error, so activities can wrap them uniformly."""

from __future__ import annotations

from typing import ClassVar


class IntegrationError(Exception):
    """An adapter failure; `retryable` tells the activity whether Temporal should retry it.

    Subclass names match the `ApplicationError` types in `domain/errors.py`, so an activity can
    raise `ApplicationError(str(e), type=type(e).__name__, non_retryable=not e.retryable)`.
    """

    retryable: ClassVar[bool] = False
    code: str = ""
    message: str = ""

    def __str__(self) -> str:
        return f"{self.message} ({self.code})" if self.code else self.message
