"""Typed warehouse failures; names match the `ApplicationError` types in `domain/errors.py`."""

from __future__ import annotations

from integrations.errors import IntegrationError


class AlreadyShipped(IntegrationError):
    """The shipment left the building; it can no longer be cancelled."""

    def __init__(self, shipment_id: str, message: str = "") -> None:
        super().__init__(shipment_id, message)
        self.shipment_id = shipment_id
        self.code = "already_shipped"
        self.message = message or f"Shipment {shipment_id} has already shipped."
