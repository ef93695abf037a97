"""`PaymentGateway` on Stripe PaymentIntents with manual capture, through the official SDK."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import stripe

from domain.money import q
from integrations.payments.errors import (
    GatewayUnavailable,
    IdempotencyConflict,
    PaymentDeclined,
    PaymentNotFound,
    PaymentStateError,
)
from integrations.payments.protocol import (
    Authorization,
    PaymentRecord,
    PaymentResult,
    payment_status,
)

T = TypeVar("T")

# Stripe amounts are integers in the currency's smallest unit; these have no minor unit.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})  # fmt: skip


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal amount to Stripe's integer minor units."""
    return int(q(amount)) if currency.upper() in ZERO_DECIMAL else int(q(amount) * 100)


def from_minor(value: int, currency: str) -> Decimal:
    """Stripe's integer minor units to a Decimal amount."""
    return q(Decimal(value) if currency.upper() in ZERO_DECIMAL else Decimal(value) / 100)


class StripeGateway:
    """Stripe PaymentIntents: authorize = confirm with manual capture; void = cancel.

    Several partial captures (one per shipment) need Stripe's multicapture: we request it at
    authorization (`request_multicapture=if_available`) and capture with `final_capture=False`.
    Without multicapture Stripe allows a single capture and releases the rest, so a second
    shipment's capture fails with `PaymentStateError`.
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        max_network_retries: int = 2,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        # The SDK retries network errors itself, always reusing our idempotency key.
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=http_client or stripe.HTTPXClient(),
            max_network_retries=max_network_retries,
        )

    async def authorize(
        self, *, idempotency_key: str, amount: Decimal, currency: str, token: str, reference: str
    ) -> Authorization:
        """Create and confirm a PaymentIntent that only holds the funds."""
        params: dict[str, Any] = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "capture_method": "manual",
            "confirm": True,
            "payment_method_types": ["card"],
            "description": reference,
            "metadata": {"reference": reference},
            "payment_method_options": {
                "card": {
                    "request_multicapture": "if_available",
                    # Order edits that raise the total increment this same PaymentIntent.
                    "request_incremental_authorization": "if_available",
                }
            },
        }
        if token.startswith("tok_"):
            # Legacy card tokens (tok_visa) become a PaymentMethod through payment_method_data.
            params["payment_method_data"] = {"type": "card", "card": {"token": token}}
        else:
            params["payment_method"] = token
        intent = await _call(
            self._client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        if intent.status != "requires_capture":
            raise PaymentDeclined(
                "authentication_required", f"Payment needs customer action ({intent.status})."
            )
        return Authorization(
            authorization_id=intent.id,
            amount=from_minor(intent.amount, intent.currency),
            currency=intent.currency.upper(),
            reference=reference,
        )

    async def increment(
        self, *, idempotency_key: str, authorization_id: str, total: Decimal
    ) -> Authorization:
        """Incremental authorization: the PaymentIntent's amount becomes `total`.

        Stripe allows it only where the card network granted it at confirmation
        (`request_incremental_authorization=if_available`); elsewhere Stripe refuses it and
        the edit that needed it is refused too.
        """
        intent = await _call(self._client.v1.payment_intents.retrieve_async(authorization_id))
        raised = await _call(
            self._client.v1.payment_intents.increment_authorization_async(
                authorization_id,
                {"amount": to_minor(total, intent.currency)},
                {"idempotency_key": idempotency_key},
            )
        )
        meta = raised.metadata
        return Authorization(
            authorization_id=raised.id,
            amount=from_minor(raised.amount, raised.currency),
            currency=raised.currency.upper(),
            reference=str(meta["reference"]) if meta and "reference" in meta else "",
        )

    async def capture(
        self, *, idempotency_key: str, authorization_id: str, amount: Decimal
    ) -> PaymentResult:
        """Capture part of the hold; with multicapture the rest stays for later shipments."""
        intent = await _call(
            self._client.v1.payment_intents.retrieve_async(
                authorization_id, {"expand": ["latest_charge"]}
            )
        )
        params: dict[str, Any] = {"amount_to_capture": to_minor(amount, intent.currency)}
        # final_capture=False is refused where multicapture is unavailable; there the one
        # capture is final and Stripe releases the remainder.
        if _multicapture_available(intent):
            params["final_capture"] = False
        captured = await _call(
            self._client.v1.payment_intents.capture_async(
                authorization_id,
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return _result(
            str(captured.latest_charge or captured.id), captured.id, "capture", amount, captured
        )

    async def void(self, *, idempotency_key: str, authorization_id: str) -> PaymentResult:
        """Cancel the PaymentIntent, which releases the uncaptured remainder."""
        intent = await _call(
            self._client.v1.payment_intents.cancel_async(
                authorization_id, {}, {"idempotency_key": idempotency_key}
            )
        )
        released = from_minor(intent.amount - (intent.amount_received or 0), intent.currency)
        return _result(intent.id, intent.id, "void", released, intent)

    async def refund(
        self, *, idempotency_key: str, authorization_id: str, amount: Decimal
    ) -> PaymentResult:
        """Refund captured money."""
        intent = await _call(self._client.v1.payment_intents.retrieve_async(authorization_id))
        refund = await _call(
            self._client.v1.refunds.create_async(
                {"payment_intent": authorization_id, "amount": to_minor(amount, intent.currency)},
                {"idempotency_key": idempotency_key},
            )
        )
        return _result(refund.id, authorization_id, "refund", amount, intent)

    async def get(self, authorization_id: str) -> PaymentRecord:
        """Totals from the PaymentIntent and its charge (Stripe keeps no per-capture ledger)."""
        intent = await _call(
            self._client.v1.payment_intents.retrieve_async(
                authorization_id, {"expand": ["latest_charge"]}
            )
        )
        charge = intent.latest_charge
        refunded_minor = getattr(charge, "amount_refunded", 0) or 0
        authorized = from_minor(intent.amount, intent.currency)
        captured = from_minor(intent.amount_received or 0, intent.currency)
        refunded = from_minor(refunded_minor, intent.currency)
        # A final partial capture releases the rest just as a cancel does.
        voided = intent.status == "canceled" or (
            intent.status == "succeeded" and captured < authorized
        )
        meta = intent.metadata
        return PaymentRecord(
            authorization_id=intent.id,
            reference=str(meta["reference"]) if meta and "reference" in meta else "",
            currency=intent.currency.upper(),
            authorized=authorized,
            captured=captured,
            refunded=refunded,
            voided=voided,
            status=payment_status(authorized, captured, refunded, voided),
            operations=[],
        )


def _multicapture_available(intent: Any) -> bool:
    """Whether the card network granted multicapture (charge.payment_method_details)."""
    details = getattr(intent.latest_charge, "payment_method_details", None)
    card = getattr(details, "card", None)
    status = getattr(getattr(card, "multicapture", None), "status", None)
    return bool(status == "available")


def _result(
    operation_id: str, authorization_id: str, kind: str, amount: Decimal, intent: Any
) -> PaymentResult:
    return PaymentResult(
        operation_id=operation_id,
        authorization_id=authorization_id,
        kind=kind,  # type: ignore[arg-type]
        amount=q(amount),
        currency=intent.currency.upper(),
        created_at=datetime.now(UTC),
    )


async def _call(awaitable: Awaitable[T]) -> T:
    """Await a Stripe call, translating its errors into ours."""
    try:
        return await awaitable
    except stripe.CardError as exc:
        code = exc.code or "card_declined"
        decline = getattr(exc.error, "decline_code", None) if exc.error else None
        # Stripe reports most declines as card_declined plus a more telling decline_code.
        if code == "card_declined" and decline and decline != "generic_decline":
            code = decline
        raise PaymentDeclined(code, exc.user_message or str(exc)) from exc
    except stripe.IdempotencyError as exc:
        raise IdempotencyConflict("idempotency_key_reused", str(exc)) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise GatewayUnavailable("gateway_unavailable", str(exc)) from exc
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404 or exc.code == "resource_missing":
            raise PaymentNotFound("resource_missing", exc.user_message or str(exc)) from exc
        raise PaymentStateError(
            exc.code or "invalid_request", exc.user_message or str(exc)
        ) from exc
    except stripe.APIError as exc:
        # 5xx: Stripe did not finish; the same idempotency key is safe to retry.
        raise GatewayUnavailable("gateway_error", str(exc)) from exc
