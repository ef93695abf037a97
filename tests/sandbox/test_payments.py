"""Sandbox payment gateway: idempotency, declines, partial captures, voids and refunds."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.payments.errors import (
    GatewayUnavailable,
    IdempotencyConflict,
    PaymentDeclined,
    PaymentNotFound,
    PaymentStateError,
)
from integrations.payments.protocol import Authorization, PaymentGateway
from sandbox.payments import SandboxPaymentGateway
from sandbox.tables import (
    SandboxPaymentAuthorization,
    SandboxPaymentOperation,
    SandboxPaymentRequest,
)


async def _count(sessions: async_sessionmaker[AsyncSession], table: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def _authorize(
    gateway: SandboxPaymentGateway, amount: str = "100.00", key: str = "order-web-1:auth"
) -> Authorization:
    return await gateway.authorize(
        idempotency_key=key,
        amount=Decimal(amount),
        currency="usd",
        token="tok_visa",
        reference="order-web-1",
    )


def test_sandbox_satisfies_protocol(gateway: SandboxPaymentGateway) -> None:
    check: PaymentGateway = gateway
    assert check is gateway


async def test_authorize_same_key_twice_makes_one_authorization(
    gateway: SandboxPaymentGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await _authorize(gateway)
    second = await _authorize(gateway)

    assert first == second
    assert first.amount == Decimal("100.00") and first.currency == "USD"
    assert first.status == "authorized"
    assert await _count(sessions, SandboxPaymentAuthorization) == 1
    record = await gateway.get(first.authorization_id)
    assert [op.kind for op in record.operations] == ["authorize"]


async def test_twenty_concurrent_identical_authorizations_make_one(
    gateway: SandboxPaymentGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    results = await asyncio.gather(*(_authorize(gateway) for _ in range(20)))

    assert len({r.authorization_id for r in results}) == 1
    assert await _count(sessions, SandboxPaymentAuthorization) == 1
    assert await _count(sessions, SandboxPaymentRequest) == 1


async def test_twenty_concurrent_identical_captures_capture_once(
    gateway: SandboxPaymentGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    auth = await _authorize(gateway)

    results = await asyncio.gather(
        *(
            gateway.capture(
                idempotency_key="order-web-1:capture:1",
                authorization_id=auth.authorization_id,
                amount=Decimal("40.00"),
            )
            for _ in range(20)
        )
    )

    assert len({r.operation_id for r in results}) == 1
    record = await gateway.get(auth.authorization_id)
    assert record.captured == Decimal("40.00")
    assert [op.kind for op in record.operations] == ["authorize", "capture"]


async def test_concurrent_captures_never_exceed_the_authorization(
    gateway: SandboxPaymentGateway,
) -> None:
    auth = await _authorize(gateway)

    async def capture(i: int) -> bool:
        try:
            await gateway.capture(
                idempotency_key=f"order-web-1:capture:{i}",
                authorization_id=auth.authorization_id,
                amount=Decimal("20.00"),
            )
        except PaymentStateError:
            return False
        return True

    outcomes = await asyncio.gather(*(capture(i) for i in range(10)))

    assert sum(outcomes) == 5
    assert (await gateway.get(auth.authorization_id)).captured == Decimal("100.00")


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_chargeDeclined", "card_declined"),
        ("tok_insufficientFunds", "insufficient_funds"),
        ("tok_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
async def test_declines_by_token_and_replays_the_decline(
    gateway: SandboxPaymentGateway,
    sessions: async_sessionmaker[AsyncSession],
    token: str,
    code: str,
) -> None:
    for _ in range(2):
        with pytest.raises(PaymentDeclined) as declined:
            await gateway.authorize(
                idempotency_key="k1", amount=Decimal("5"), currency="USD", token=token, reference=""
            )
        assert declined.value.code == code
    assert await _count(sessions, SandboxPaymentAuthorization) == 0


async def test_partial_captures_then_void_releases_the_remainder(
    gateway: SandboxPaymentGateway,
) -> None:
    auth = await _authorize(gateway)
    auth_id = auth.authorization_id

    await gateway.capture(idempotency_key="c1", authorization_id=auth_id, amount=Decimal("30"))
    await gateway.capture(idempotency_key="c2", authorization_id=auth_id, amount=Decimal("50.00"))
    with pytest.raises(PaymentStateError) as over:
        await gateway.capture(idempotency_key="c3", authorization_id=auth_id, amount=Decimal("30"))
    assert over.value.code == "amount_exceeds_authorized"
    assert (await gateway.get(auth_id)).status == "partially_captured"

    void = await gateway.void(idempotency_key="v1", authorization_id=auth_id)
    assert void.kind == "void" and void.amount == Decimal("20.00")
    with pytest.raises(PaymentStateError) as after_void:
        await gateway.capture(idempotency_key="c4", authorization_id=auth_id, amount=Decimal("1"))
    assert after_void.value.code == "authorization_voided"
    with pytest.raises(PaymentStateError):
        await gateway.void(idempotency_key="v2", authorization_id=auth_id)

    record = await gateway.get(auth_id)
    assert (record.authorized, record.captured, record.voided) == (Decimal("100.00"), 80, True)
    assert record.capturable == 0 and record.status == "captured"
    assert [op.kind for op in record.operations] == ["authorize", "capture", "capture", "void"]
    # Replaying the void's key returns the same void, not a second one.
    assert await gateway.void(idempotency_key="v1", authorization_id=auth_id) == void


async def test_void_after_full_capture_is_refused(gateway: SandboxPaymentGateway) -> None:
    auth = await _authorize(gateway, "10.00")
    await gateway.capture(
        idempotency_key="c1", authorization_id=auth.authorization_id, amount=Decimal("10")
    )
    with pytest.raises(PaymentStateError) as refused:
        await gateway.void(idempotency_key="v1", authorization_id=auth.authorization_id)
    assert refused.value.code == "already_captured"


async def test_refunds_are_limited_to_what_was_captured(gateway: SandboxPaymentGateway) -> None:
    auth = await _authorize(gateway)
    auth_id = auth.authorization_id
    with pytest.raises(PaymentStateError):
        await gateway.refund(idempotency_key="r0", authorization_id=auth_id, amount=Decimal("1"))
    await gateway.capture(idempotency_key="c1", authorization_id=auth_id, amount=Decimal("60"))

    with pytest.raises(PaymentStateError) as over:
        await gateway.refund(idempotency_key="r1", authorization_id=auth_id, amount=Decimal("70"))
    assert over.value.code == "amount_exceeds_captured"
    await gateway.refund(idempotency_key="r2", authorization_id=auth_id, amount=Decimal("40"))
    assert (await gateway.get(auth_id)).status == "partially_refunded"
    await gateway.refund(idempotency_key="r3", authorization_id=auth_id, amount=Decimal("20.00"))
    with pytest.raises(PaymentStateError):
        await gateway.refund(idempotency_key="r4", authorization_id=auth_id, amount=Decimal("0.01"))

    record = await gateway.get(auth_id)
    assert (record.captured, record.refunded, record.status) == (60, 60, "refunded")


async def test_reusing_a_key_with_other_parameters_conflicts(
    gateway: SandboxPaymentGateway,
) -> None:
    auth = await _authorize(gateway)
    with pytest.raises(IdempotencyConflict):
        await _authorize(gateway, amount="99.00")
    await gateway.capture(
        idempotency_key="c1", authorization_id=auth.authorization_id, amount=Decimal("10")
    )
    with pytest.raises(IdempotencyConflict):
        await gateway.capture(
            idempotency_key="c1", authorization_id=auth.authorization_id, amount=Decimal("11")
        )
    with pytest.raises(IdempotencyConflict):
        await gateway.refund(
            idempotency_key="c1", authorization_id=auth.authorization_id, amount=Decimal("10")
        )


async def test_flaky_token_fails_the_first_attempt_of_each_key(
    gateway: SandboxPaymentGateway,
) -> None:
    async def authorize() -> Authorization:
        return await gateway.authorize(
            idempotency_key="f1", amount=Decimal("50"), currency="USD", token="tok_flaky",
            reference="order-web-2",
        )  # fmt: skip

    with pytest.raises(GatewayUnavailable) as transient:
        await authorize()
    assert transient.value.retryable
    auth = await authorize()

    async def capture() -> None:
        await gateway.capture(
            idempotency_key="f1:cap", authorization_id=auth.authorization_id, amount=Decimal("50")
        )

    with pytest.raises(GatewayUnavailable):
        await capture()
    await capture()
    await capture()
    record = await gateway.get(auth.authorization_id)
    assert [op.kind for op in record.operations] == ["authorize", "capture"]


async def test_unknown_authorization(
    gateway: SandboxPaymentGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(PaymentNotFound):
        await gateway.get("pi_nope")
    with pytest.raises(PaymentStateError):
        await gateway.capture(idempotency_key="x", authorization_id="pi_nope", amount=Decimal(1))
    assert await _count(sessions, SandboxPaymentOperation) == 0


async def test_amounts_are_quantized_to_cents(gateway: SandboxPaymentGateway) -> None:
    auth = await _authorize(gateway, "19.999")
    assert auth.amount == Decimal("20.00")
    assert str(auth.amount) == "20.00"
