"""`StripeGateway` through the official SDK against a local server speaking Stripe's wire format."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.payments.errors import (
    IdempotencyConflict,
    PaymentDeclined,
    PaymentNotFound,
    PaymentStateError,
)
from integrations.payments.protocol import Authorization, PaymentGateway
from integrations.payments.stripe_gateway import StripeGateway, from_minor, to_minor
from tests.integrations.fakes import FakeStripe, StripeRequest

# stripe-python's HTTPXClient passes the form body as `data=bytes`; httpx warns, nothing breaks.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def _authorize(gateway: StripeGateway, key: str = "order-web-1:auth") -> Authorization:
    return await gateway.authorize(
        idempotency_key=key,
        amount=Decimal("100.00"),
        currency="USD",
        token="tok_visa",
        reference="order-web-1",
    )


def _posts(fake: FakeStripe, path_end: str) -> list[StripeRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(path_end)]


def test_minor_units() -> None:
    assert to_minor(Decimal("19.99"), "usd") == 1999
    assert to_minor(Decimal("500"), "JPY") == 500
    assert from_minor(1999, "USD") == Decimal("19.99")


async def test_authorize_sends_a_manual_capture_payment_intent(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    checked: PaymentGateway = stripe_gateway
    auth = await checked.authorize(
        idempotency_key="order-web-1:auth",
        amount=Decimal("100.00"),
        currency="USD",
        token="tok_visa",
        reference="order-web-1",
    )

    assert auth.authorization_id.startswith("pi_")
    assert (auth.amount, auth.currency, auth.status) == (Decimal("100.00"), "USD", "authorized")
    [request] = _posts(fake_stripe, "/v1/payment_intents")
    assert request.headers["Idempotency-Key"] == "order-web-1:auth"
    assert request.headers["Authorization"] == "Bearer sk_test_fake"
    assert request.form["amount"] == "10000"
    assert request.form["currency"] == "usd"
    assert request.form["capture_method"] == "manual"
    assert request.form["confirm"] == "true"
    assert request.form["payment_method_data[type]"] == "card"
    assert request.form["payment_method_data[card][token]"] == "tok_visa"
    assert request.form["payment_method_options[card][request_multicapture]"] == "if_available"
    assert request.form["metadata[reference]"] == "order-web-1"


async def test_payment_method_ids_are_passed_as_payment_method(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    await stripe_gateway.authorize(
        idempotency_key="k", amount=Decimal("5"), currency="usd", token="pm_card_visa", reference=""
    )
    [request] = _posts(fake_stripe, "/v1/payment_intents")
    assert request.form["payment_method"] == "pm_card_visa"


async def test_same_key_replays_without_a_second_intent(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    first = await _authorize(stripe_gateway)
    second = await _authorize(stripe_gateway)

    assert first.authorization_id == second.authorization_id
    assert len(fake_stripe.intents) == 1
    with pytest.raises(IdempotencyConflict):
        await stripe_gateway.authorize(
            idempotency_key="order-web-1:auth",
            amount=Decimal("99.00"),
            currency="USD",
            token="tok_visa",
            reference="order-web-1",
        )


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_chargeDeclined", "card_declined"),
        ("tok_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("tok_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
async def test_card_errors_become_declines(
    stripe_gateway: StripeGateway, token: str, code: str
) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        await stripe_gateway.authorize(
            idempotency_key="k", amount=Decimal("5"), currency="usd", token=token, reference=""
        )
    assert declined.value.code == code


async def test_partial_captures_void_and_refund(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    auth = await _authorize(stripe_gateway)
    pi = auth.authorization_id

    one = await stripe_gateway.capture(
        idempotency_key="c1", authorization_id=pi, amount=Decimal(30)
    )
    await stripe_gateway.capture(idempotency_key="c2", authorization_id=pi, amount=Decimal("50"))
    with pytest.raises(PaymentStateError) as over:
        await stripe_gateway.capture(idempotency_key="c3", authorization_id=pi, amount=Decimal(30))
    assert over.value.code == "amount_too_large"
    void = await stripe_gateway.void(idempotency_key="v1", authorization_id=pi)
    refund = await stripe_gateway.refund(
        idempotency_key="r1", authorization_id=pi, amount=Decimal("25.50")
    )
    with pytest.raises(PaymentStateError):
        await stripe_gateway.refund(idempotency_key="r2", authorization_id=pi, amount=Decimal(60))

    assert (one.kind, one.amount) == ("capture", Decimal("30.00"))
    assert (void.kind, void.amount) == ("void", Decimal("20.00"))
    assert refund.operation_id.startswith("re_") and refund.amount == Decimal("25.50")
    captures = _posts(fake_stripe, "/capture")
    assert [r.form["amount_to_capture"] for r in captures] == ["3000", "5000", "3000"]
    assert {r.form["final_capture"] for r in captures} == {"false"}
    assert [r.headers["Idempotency-Key"] for r in captures] == ["c1", "c2", "c3"]
    assert _posts(fake_stripe, f"/{pi}/cancel")[0].headers["Idempotency-Key"] == "v1"
    refund_request = _posts(fake_stripe, "/v1/refunds")[0]
    assert refund_request.form == {"payment_intent": pi, "amount": "2550"}
    assert refund_request.headers["Idempotency-Key"] == "r1"

    record = await stripe_gateway.get(pi)
    assert (record.authorized, record.captured, record.refunded) == (100, 80, Decimal("25.50"))
    assert record.voided and record.status == "partially_refunded"
    assert record.reference == "order-web-1"


async def test_without_multicapture_the_first_capture_is_final(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.multicapture = False
    pi = (await _authorize(stripe_gateway)).authorization_id

    await stripe_gateway.capture(idempotency_key="c1", authorization_id=pi, amount=Decimal(30))
    with pytest.raises(PaymentStateError):
        await stripe_gateway.capture(idempotency_key="c2", authorization_id=pi, amount=Decimal(30))

    assert "final_capture" not in _posts(fake_stripe, "/capture")[0].form
    record = await stripe_gateway.get(pi)
    assert (record.captured, record.status) == (30, "captured")


async def test_void_after_final_capture_is_a_state_error(stripe_gateway: StripeGateway) -> None:
    auth = await _authorize(stripe_gateway)
    pi = auth.authorization_id
    await stripe_gateway.capture(idempotency_key="c1", authorization_id=pi, amount=Decimal(100))
    with pytest.raises(PaymentStateError) as refused:
        await stripe_gateway.void(idempotency_key="v1", authorization_id=pi)
    assert refused.value.code == "payment_intent_unexpected_state"


async def test_unknown_intent(stripe_gateway: StripeGateway) -> None:
    with pytest.raises(PaymentNotFound):
        await stripe_gateway.get("pi_missing")
