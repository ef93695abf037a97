"""Typed payment failures; class names match the `ApplicationError` types in `domain/errors.py`."""

from __future__ import annotations

from typing import ClassVar

from integrations.errors import IntegrationError


class PaymentError(IntegrationError):
    """Base of payment gateway errors."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


class PaymentDeclined(PaymentError):
    """The issuer refused the card (`card_declined`, `insufficient_funds`, `expired_card`, ...)."""


class PaymentStateError(PaymentError):
    """The operation does not fit the authorization's state (over-capture, capture after void)."""


class PaymentNotFound(PaymentStateError):
    """No authorization with that id."""


class IdempotencyConflict(PaymentError):
    """An idempotency key was reused with different parameters."""


class GatewayUnavailable(PaymentError):
    """A transient gateway failure; retry with the same idempotency key."""

    retryable: ClassVar[bool] = True
