"""Typed carrier failures; class names match the `ApplicationError` types in `domain/errors.py`."""

from __future__ import annotations

from typing import ClassVar

from integrations.errors import IntegrationError


class CarrierError(IntegrationError):
    """Base of carrier errors."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


class InvalidAddress(CarrierError):
    """The carrier cannot ship to (or from) this address; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__("invalid_address", message)
        self.args = (field, message)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidParcel(CarrierError):
    """The parcel is outside what the carrier accepts (too heavy, too large)."""


class LabelAlreadyUsed(CarrierError):
    """The carrier has scanned the label, so it can no longer be voided."""


class LabelVoided(CarrierError):
    """The label was voided, so no parcel can travel on it (hand it over on a new label)."""


class UnknownLabel(CarrierError):
    """No label with that id at this carrier."""


class UnknownTracking(CarrierError):
    """The carrier does not know this tracking number."""


class CarrierRequestError(CarrierError):
    """The carrier refused the request for a reason retrying will not fix."""


class CarrierUnavailable(CarrierError):
    """A transient carrier outage; retry (with the same idempotency key)."""

    retryable: ClassVar[bool] = True
