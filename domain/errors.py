"""Business errors that must not be retried, by their Temporal `ApplicationError` type names.

Activities raise `ApplicationError(message, type=<one of these>, non_retryable=True)`; the API
maps the type to a 4xx with the reason.
"""

from __future__ import annotations

PAYMENT_DECLINED = "PaymentDeclined"
INVALID_ADDRESS = "InvalidAddress"
INVALID_ORDER = "InvalidOrder"
UNKNOWN_SKU = "UnknownSku"
OUT_OF_STOCK = "OutOfStock"
LABEL_ALREADY_USED = "LabelAlreadyUsed"
ALREADY_SHIPPED = "AlreadyShipped"
PAYMENT_STATE = "PaymentStateError"
IDEMPOTENCY_CONFLICT = "IdempotencyConflict"

NON_RETRYABLE = [
    PAYMENT_DECLINED,
    INVALID_ADDRESS,
    INVALID_ORDER,
    UNKNOWN_SKU,
    LABEL_ALREADY_USED,
    ALREADY_SHIPPED,
    PAYMENT_STATE,
    IDEMPOTENCY_CONFLICT,
]
