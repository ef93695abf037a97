"""Stripe-style idempotency keys for the sandbox gateway, stored in `sandbox_payment_requests`.

The first request with a key runs and its outcome (result or business error) is stored; later
requests with the same parameters replay it, with different parameters they get
`IdempotencyConflict`. A transient failure stores nothing, so the retry runs the operation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.payments.errors import (
    GatewayUnavailable,
    IdempotencyConflict,
    PaymentDeclined,
    PaymentError,
    PaymentNotFound,
    PaymentStateError,
)
from sandbox.clock import Clock
from sandbox.tables import SandboxPaymentRequest

log = structlog.get_logger(__name__)

# The operation: gets the open session and the attempt number (1 for the key's first try).
Operation = Callable[[AsyncSession, int], Awaitable[dict[str, Any]]]

_ERRORS: dict[str, type[PaymentError]] = {
    cls.__name__: cls for cls in (PaymentDeclined, PaymentStateError, PaymentNotFound)
}
# Concurrent first uses of one key: the losers of the insert race re-read the winner's answer.
_MAX_KEY_RACES = 5


@dataclass(frozen=True)
class _Outcome:
    response: dict[str, Any] | None = None
    error: PaymentError | None = None


def fingerprint(operation: str, params: dict[str, str]) -> str:
    """A digest of what was asked, to recognise a key reused for something else."""
    canonical = json.dumps({"op": operation, **params}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotentRequests:
    """Runs each idempotency key's operation once, even under concurrent identical calls."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def run(
        self, key: str, operation: str, params: dict[str, str], op: Operation
    ) -> dict[str, Any]:
        """The operation's response for this key, running it only if no answer is stored."""
        digest = fingerprint(operation, params)
        for _ in range(_MAX_KEY_RACES):
            try:
                outcome = await self._attempt(key, operation, digest, op)
            except IntegrityError:
                log.debug("idempotency key race, re-reading", idempotency_key=key)
                continue
            if outcome.error is not None:
                raise outcome.error
            assert outcome.response is not None
            return outcome.response
        raise GatewayUnavailable("lock_timeout", f"Too much contention on key {key}; retry.")

    async def _attempt(self, key: str, operation: str, digest: str, op: Operation) -> _Outcome:
        """One transaction: claim or re-read the key, then run and store the outcome."""
        async with self._sessions() as session, session.begin():
            now = self._clock()
            # FOR UPDATE: a twin arriving while we run waits, then reads our stored answer.
            request = await session.get(SandboxPaymentRequest, key, with_for_update=True)
            if request is not None and request.fingerprint != digest:
                return _Outcome(
                    error=IdempotencyConflict(
                        "idempotency_key_reused",
                        f"Key {key} was already used with different parameters.",
                    )
                )
            if request is not None and request.status == "done":
                return _stored(request)
            if request is None:
                request = SandboxPaymentRequest(
                    idempotency_key=key,
                    operation=operation,
                    fingerprint=digest,
                    status="pending",
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                )
                session.add(request)
                # Insert first: a concurrent twin fails on the key and replays our answer.
                await session.flush()
            else:
                request.attempts += 1
                request.updated_at = now
            try:
                # A savepoint, so a refused operation leaves no half-made changes behind.
                async with session.begin_nested():
                    response = await op(session, request.attempts)
            except GatewayUnavailable as exc:
                request.status = "unavailable"
                return _Outcome(error=exc)
            except PaymentError as exc:
                # Like Stripe, a business refusal is the answer for this key from now on.
                request.status, request.error = "done", _error_doc(exc)
                return _Outcome(error=exc)
            request.status, request.response = "done", response
            return _Outcome(response=response)


def _error_doc(exc: PaymentError) -> dict[str, str]:
    return {"type": type(exc).__name__, "code": exc.code, "message": exc.message}


def _stored(request: SandboxPaymentRequest) -> _Outcome:
    if request.error is not None:
        cls = _ERRORS.get(request.error["type"], PaymentStateError)
        return _Outcome(error=cls(request.error["code"], request.error["message"]))
    return _Outcome(response=request.response)
