"""Turn business refusals into non-retryable Temporal errors with a stable type."""

from __future__ import annotations

from typing import NoReturn

from temporalio.exceptions import ApplicationError


def business_error(kind: str, message: str, **details: object) -> NoReturn:
    """Fail the activity for good: retrying cannot change the answer."""
    raise ApplicationError(message, details or None, type=kind, non_retryable=True)
