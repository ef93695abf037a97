"""What activities need from a card gateway: authorize, capture in parts, void, refund, inspect."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel

OperationKind = Literal["authorize", "increment", "capture", "void", "refund"]
PaymentStatus = Literal[
    "authorized", "partially_captured", "captured", "voided", "partially_refunded", "refunded"
]


class Authorization(BaseModel):
    """Funds held on the card, to be captured per shipment."""

    authorization_id: str
    amount: Decimal
    currency: str
    status: PaymentStatus = "authorized"
    reference: str = ""


class PaymentResult(BaseModel):
    """Outcome of a capture, void or refund; `amount` moved (or, for a void, was released)."""

    operation_id: str
    authorization_id: str
    kind: Literal["capture", "void", "refund"]
    amount: Decimal
    currency: str
    status: Literal["succeeded"] = "succeeded"
    created_at: datetime


class PaymentOperation(BaseModel):
    """One entry of an authorization's ledger."""

    operation_id: str
    kind: OperationKind
    amount: Decimal
    idempotency_key: str
    created_at: datetime


class PaymentRecord(BaseModel):
    """The gateway's view of an authorization: totals, state and every operation."""

    authorization_id: str
    reference: str
    currency: str
    authorized: Decimal
    captured: Decimal
    refunded: Decimal
    # The uncaptured remainder was released (a void, or at Stripe a final partial capture).
    voided: bool
    status: PaymentStatus
    operations: list[PaymentOperation]

    @property
    def capturable(self) -> Decimal:
        """What can still be captured."""
        return Decimal("0.00") if self.voided else self.authorized - self.captured


def payment_status(
    authorized: Decimal, captured: Decimal, refunded: Decimal, voided: bool
) -> PaymentStatus:
    """Summarise totals as one status (a void after partial captures leaves them `captured`)."""
    if refunded > 0:
        return "refunded" if refunded >= captured else "partially_refunded"
    if captured == 0:
        return "voided" if voided else "authorized"
    if captured >= authorized or voided:
        return "captured"
    return "partially_captured"


class PaymentGateway(Protocol):
    """A card gateway with Stripe-like idempotency: the same key and parameters replay the result.

    Raises `PaymentDeclined`, `PaymentStateError` (and `PaymentNotFound`), `IdempotencyConflict`
    and the transient `GatewayUnavailable` from `integrations.payments.errors`.
    """

    async def authorize(
        self, *, idempotency_key: str, amount: Decimal, currency: str, token: str, reference: str
    ) -> Authorization:
        """Hold `amount` on the card behind `token`."""
        ...

    async def increment(
        self, *, idempotency_key: str, authorization_id: str, total: Decimal
    ) -> Authorization:
        """Raise the same authorization to `total` (an order edit raised the order's total);
        the new total, not the difference, so a retry sends the same request. Declines raise
        `PaymentDeclined`."""
        ...

    async def capture(
        self, *, idempotency_key: str, authorization_id: str, amount: Decimal
    ) -> PaymentResult:
        """Capture part or all of what remains authorized."""
        ...

    async def void(self, *, idempotency_key: str, authorization_id: str) -> PaymentResult:
        """Release whatever is authorized and not captured."""
        ...

    async def refund(
        self, *, idempotency_key: str, authorization_id: str, amount: Decimal
    ) -> PaymentResult:
        """Return captured money to the card."""
        ...

    async def get(self, authorization_id: str) -> PaymentRecord:
        """The current state of an authorization."""
        ...
