"""Every error type of the OMS, in one place.

Two families:
- `DomainError` subclasses are raised by services (and the store) for a caller's request that
  cannot be done; `api/errors.py` maps each class to one HTTP status, nowhere else does.
- The string constants name `ApplicationError` types raised by activities and workflows for
  business outcomes that must not be retried (`NON_RETRYABLE`); the API maps a failed Update's
  type to a 4xx with its reason.

Domain rule violations (`InvalidTransition`, `ProfileError`, `InsufficientStock`) are here
too. Adapter failures are typed beside their protocols (`integrations/*/errors.py`, subclasses
of `IntegrationError`), named like the constants below, so an activity turns one into the
`ApplicationError` of the same type.
"""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A request the OMS refuses; `code` is machine-readable, `field` names the input at fault."""

    code = "refused"

    def __init__(self, message: str, field: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidTransition(ValueError):
    """A status change the order state machine does not allow."""


class ProfileError(ValueError):
    """A routing profile that cannot be used; the message names the offending field."""


class InsufficientStock(Exception):
    """A reservation lost a race: the listed holds could not be taken (route again)."""

    def __init__(self, short: Sequence[object]) -> None:
        super().__init__(f"{len(short)} allocation(s) short")
        self.short = list(short)


class Unauthenticated(DomainError):
    """The caller could not be verified (a missing or wrong signature)."""

    code = "unauthorized"


class NotFound(DomainError):
    """The thing asked for does not exist."""

    code = "not_found"


class InvalidInput(DomainError):
    """The input is well-formed but not acceptable (unknown SKU, unserved country, ...)."""

    code = "validation_error"


class BadRequest(DomainError):
    """The input cannot be understood at all (a cursor we never issued, ...)."""

    code = "bad_request"


class Refused(DomainError):
    """Not allowed in the current state of the order, shipment or return."""

    code = "refused"


class OutOfStock(Refused):
    """The channel refuses orders the network cannot cover (OMS_REFUSE_SHORT_CHANNELS)."""

    code = "out_of_stock"


class AlreadyExists(DomainError):
    """Creating something whose id is taken."""

    code = "conflict"


class Unavailable(DomainError):
    """A dependency (Temporal, the database) cannot be reached; retrying later may work."""

    code = "unavailable"


# ---- ApplicationError types (activities and workflows) ------------------------------------------

PAYMENT_DECLINED = "PaymentDeclined"
INVALID_ADDRESS = "InvalidAddress"
INVALID_ORDER = "InvalidOrder"
UNKNOWN_SKU = "UnknownSku"
OUT_OF_STOCK = "OutOfStock"
LABEL_ALREADY_USED = "LabelAlreadyUsed"
ALREADY_SHIPPED = "AlreadyShipped"
PAYMENT_STATE = "PaymentStateError"
IDEMPOTENCY_CONFLICT = "IdempotencyConflict"
# An ops Update or a WMS event the order cannot take now; the API answers 409 with the reason.
ACTION_REFUSED = "ActionRefused"
UNKNOWN_LOCATION = "UnknownLocation"
UNKNOWN_CARRIER = "UnknownCarrier"
LABEL_VOIDED = "LabelVoided"
UNKNOWN_LABEL = "UnknownLabel"

NON_RETRYABLE = [
    PAYMENT_DECLINED,
    INVALID_ADDRESS,
    INVALID_ORDER,
    UNKNOWN_SKU,
    LABEL_ALREADY_USED,
    ALREADY_SHIPPED,
    PAYMENT_STATE,
    IDEMPOTENCY_CONFLICT,
    ACTION_REFUSED,
    UNKNOWN_LOCATION,
    UNKNOWN_CARRIER,
    LABEL_VOIDED,
    UNKNOWN_LABEL,
]
# Failed Update types answered 422 (the input was wrong) rather than 409 (not now).
INPUT_ERRORS = frozenset({INVALID_ADDRESS, UNKNOWN_LOCATION, UNKNOWN_SKU})
