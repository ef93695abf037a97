"""A card gateway that behaves like Stripe's test mode, with its state in the sandbox database.

Test tokens: `tok_chargeDeclined`, `tok_insufficientFunds` and `tok_chargeDeclinedExpiredCard`
decline; `tok_incrementDeclined` authorizes but declines any increment (an edit's extra
amount); `tok_flaky` fails the first attempt of every idempotency key with
`GatewayUnavailable`; any other token authorizes.
"""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.money import q
from integrations.payments.errors import (
    GatewayUnavailable,
    PaymentDeclined,
    PaymentNotFound,
    PaymentStateError,
)
from integrations.payments.protocol import (
    Authorization,
    OperationKind,
    PaymentOperation,
    PaymentRecord,
    PaymentResult,
    payment_status,
)
from sandbox.clock import Clock, utc_now
from sandbox.payment_idempotency import IdempotentRequests, Operation
from sandbox.tables import SandboxPaymentAuthorization, SandboxPaymentOperation

FLAKY_TOKEN = "tok_flaky"
INCREMENT_DECLINED_TOKEN = "tok_incrementDeclined"
DECLINES: dict[str, tuple[str, str]] = {
    "tok_chargeDeclined": ("card_declined", "Your card was declined."),
    "tok_insufficientFunds": ("insufficient_funds", "Your card has insufficient funds."),
    "tok_chargeDeclinedExpiredCard": ("expired_card", "Your card has expired."),
}


def _cents(amount: Decimal) -> int:
    return int(q(amount) * 100)


def _money(cents: int) -> Decimal:
    return q(Decimal(cents) / 100)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class SandboxPaymentGateway:
    """`PaymentGateway` simulated in the database: declines, partial captures, idempotency."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        time_scale: float = 1.0,
        clock: Clock = utc_now,
        latency_s: float = 0.05,
    ) -> None:
        self._sessions = sessions
        # Accepted for a uniform constructor; authorizations here do not expire.
        self._time_scale = time_scale
        self._clock = clock
        # Network latency is real time, not business time: it does not shrink with time_scale.
        self._latency_s = latency_s
        self._requests = IdempotentRequests(sessions, clock)

    async def authorize(
        self, *, idempotency_key: str, amount: Decimal, currency: str, token: str, reference: str
    ) -> Authorization:
        """Hold `amount` on the card behind `token`."""
        cents, currency = _cents(amount), currency.upper()
        params = {"amount": str(cents), "currency": currency, "token": token, "ref": reference}

        async def run(session: AsyncSession, attempt: int) -> dict[str, Any]:
            if token == FLAKY_TOKEN and attempt == 1:
                raise GatewayUnavailable("gateway_timeout", "The gateway timed out; retry.")
            if token in DECLINES:
                raise PaymentDeclined(*DECLINES[token])
            if cents <= 0:
                raise PaymentStateError("invalid_amount", "Amount must be positive.")
            now = self._clock()
            auth = SandboxPaymentAuthorization(
                authorization_id=_new_id("pi_sbx"),
                reference=reference,
                token=token,
                currency=currency,
                amount_cents=cents,
                captured_cents=0,
                refunded_cents=0,
                created_at=now,
                updated_at=now,
            )
            session.add(auth)
            self._ledger(session, auth, "authorize", cents, idempotency_key)
            return Authorization(
                authorization_id=auth.authorization_id,
                amount=_money(cents),
                currency=currency,
                reference=reference,
            ).model_dump(mode="json")

        response = await self._call(idempotency_key, "authorize", params, run)
        return Authorization.model_validate(response)

    async def increment(
        self, *, idempotency_key: str, authorization_id: str, total: Decimal
    ) -> Authorization:
        """Raise the authorization to `total`, like Stripe's incremental authorization:
        refused once voided, or when `total` is not above what is authorized."""
        cents = _cents(total)
        params = {"authorization_id": authorization_id, "amount": str(cents)}

        async def run(session: AsyncSession, attempt: int) -> dict[str, Any]:
            auth = await self._locked(session, authorization_id, attempt)
            if cents <= auth.amount_cents:
                raise PaymentStateError(
                    "invalid_amount", "The new amount must exceed the authorized amount."
                )
            if auth.voided_at is not None:
                raise PaymentStateError("authorization_voided", "The authorization was voided.")
            if auth.token == INCREMENT_DECLINED_TOKEN:
                raise PaymentDeclined("card_declined", "The card declined the additional amount.")
            added = cents - auth.amount_cents
            auth.amount_cents = cents
            auth.updated_at = self._clock()
            self._ledger(session, auth, "increment", added, idempotency_key)
            return Authorization(
                authorization_id=auth.authorization_id,
                amount=_money(auth.amount_cents),
                currency=auth.currency,
                reference=auth.reference,
                status=payment_status(
                    _money(auth.amount_cents),
                    _money(auth.captured_cents),
                    _money(auth.refunded_cents),
                    False,
                ),
            ).model_dump(mode="json")

        response = await self._call(idempotency_key, "increment", params, run)
        return Authorization.model_validate(response)

    async def capture(
        self, *, idempotency_key: str, authorization_id: str, amount: Decimal
    ) -> PaymentResult:
        """Capture part or all of what remains authorized (one capture per shipment)."""
        cents = _cents(amount)
        params = {"authorization_id": authorization_id, "amount": str(cents)}

        async def run(session: AsyncSession, attempt: int) -> dict[str, Any]:
            auth = await self._locked(session, authorization_id, attempt)
            remaining = auth.amount_cents - auth.captured_cents
            if auth.voided_at is not None:
                raise PaymentStateError("authorization_voided", "The authorization was voided.")
            if cents <= 0:
                raise PaymentStateError("invalid_amount", "Amount must be positive.")
            if remaining == 0:
                raise PaymentStateError("already_captured", "Nothing left to capture.")
            if cents > remaining:
                raise PaymentStateError(
                    "amount_exceeds_authorized",
                    f"Capture {_money(cents)} exceeds the {_money(remaining)} still authorized.",
                )
            auth.captured_cents += cents
            return self._result(session, auth, "capture", cents, idempotency_key)

        response = await self._call(idempotency_key, "capture", params, run)
        return PaymentResult.model_validate(response)

    async def void(self, *, idempotency_key: str, authorization_id: str) -> PaymentResult:
        """Release the uncaptured remainder; captured money stays captured."""
        params = {"authorization_id": authorization_id}

        async def run(session: AsyncSession, attempt: int) -> dict[str, Any]:
            auth = await self._locked(session, authorization_id, attempt)
            if auth.voided_at is not None:
                raise PaymentStateError("already_voided", "The authorization is already voided.")
            remaining = auth.amount_cents - auth.captured_cents
            if remaining == 0:
                raise PaymentStateError("already_captured", "Fully captured; refund instead.")
            auth.voided_at = self._clock()
            return self._result(session, auth, "void", remaining, idempotency_key)

        response = await self._call(idempotency_key, "void", params, run)
        return PaymentResult.model_validate(response)

    async def refund(
        self, *, idempotency_key: str, authorization_id: str, amount: Decimal
    ) -> PaymentResult:
        """Return captured money to the card, at most what was captured and not yet refunded."""
        cents = _cents(amount)
        params = {"authorization_id": authorization_id, "amount": str(cents)}

        async def run(session: AsyncSession, attempt: int) -> dict[str, Any]:
            auth = await self._locked(session, authorization_id, attempt)
            refundable = auth.captured_cents - auth.refunded_cents
            if cents <= 0:
                raise PaymentStateError("invalid_amount", "Amount must be positive.")
            if cents > refundable:
                raise PaymentStateError(
                    "amount_exceeds_captured",
                    f"Refund {_money(cents)} exceeds the {_money(refundable)} refundable.",
                )
            auth.refunded_cents += cents
            return self._result(session, auth, "refund", cents, idempotency_key)

        response = await self._call(idempotency_key, "refund", params, run)
        return PaymentResult.model_validate(response)

    async def get(self, authorization_id: str) -> PaymentRecord:
        """The authorization's totals and ledger."""
        async with self._sessions() as session:
            auth = await session.get(SandboxPaymentAuthorization, authorization_id)
            if auth is None:
                raise PaymentNotFound("resource_missing", f"No authorization {authorization_id}.")
            ops = await session.scalars(
                select(SandboxPaymentOperation)
                .where(SandboxPaymentOperation.authorization_id == authorization_id)
                .order_by(SandboxPaymentOperation.id)
            )
            authorized, captured = _money(auth.amount_cents), _money(auth.captured_cents)
            refunded, voided = _money(auth.refunded_cents), auth.voided_at is not None
            return PaymentRecord(
                authorization_id=auth.authorization_id,
                reference=auth.reference,
                currency=auth.currency,
                authorized=authorized,
                captured=captured,
                refunded=refunded,
                voided=voided,
                status=payment_status(authorized, captured, refunded, voided),
                operations=[
                    PaymentOperation(
                        operation_id=op.operation_id,
                        kind=op.kind,  # type: ignore[arg-type]
                        amount=_money(op.amount_cents),
                        idempotency_key=op.idempotency_key,
                        created_at=op.created_at,
                    )
                    for op in ops
                ],
            )

    async def _call(
        self, key: str, operation: str, params: dict[str, str], run: Operation
    ) -> dict[str, Any]:
        if self._latency_s > 0:
            await asyncio.sleep(self._latency_s)
        return await self._requests.run(key, operation, params, run)

    async def _locked(
        self, session: AsyncSession, authorization_id: str, attempt: int
    ) -> SandboxPaymentAuthorization:
        """The authorization, locked so captures on it serialize (PostgreSQL row lock)."""
        auth = await session.get(
            SandboxPaymentAuthorization, authorization_id, with_for_update=True
        )
        if auth is None:
            raise PaymentNotFound("resource_missing", f"No authorization {authorization_id}.")
        if auth.token == FLAKY_TOKEN and attempt == 1:
            raise GatewayUnavailable("gateway_timeout", "The gateway timed out; retry.")
        return auth

    def _result(
        self,
        session: AsyncSession,
        auth: SandboxPaymentAuthorization,
        kind: OperationKind,
        cents: int,
        key: str,
    ) -> dict[str, Any]:
        auth.updated_at = self._clock()
        op = self._ledger(session, auth, kind, cents, key)
        return PaymentResult(
            operation_id=op.operation_id,
            authorization_id=auth.authorization_id,
            kind=kind,  # type: ignore[arg-type]
            amount=_money(cents),
            currency=auth.currency,
            created_at=op.created_at,
        ).model_dump(mode="json")

    def _ledger(
        self,
        session: AsyncSession,
        auth: SandboxPaymentAuthorization,
        kind: OperationKind,
        cents: int,
        key: str,
    ) -> SandboxPaymentOperation:
        prefix = {
            "authorize": "auth",
            "increment": "inc",
            "capture": "cap",
            "void": "void",
            "refund": "re",
        }[kind]
        op = SandboxPaymentOperation(
            operation_id=_new_id(prefix),
            authorization_id=auth.authorization_id,
            kind=kind,
            amount_cents=cents,
            idempotency_key=key,
            created_at=self._clock(),
        )
        session.add(op)
        return op
