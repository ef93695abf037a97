"""The canonical order: what every channel's payload is mapped to before a workflow starts."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.money import q

Channel = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="Sales channel")]
ShippingService = Literal["economy", "standard", "express", "overnight"]
PositiveMoney = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=2)]
# Net terms of an invoice when the order does not say.
DEFAULT_TERMS_DAYS = 30


class Strict(BaseModel):
    """Refuse unknown fields so a typo is a clear 422, not silently dropped data."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Customer(Strict):
    """Who placed the order."""

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class Address(Strict):
    """A postal address."""

    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str = Field(default="", max_length=64)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Za-z]{2}$")

    @field_validator("country", "region")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class OrderLine(Strict):
    """One line: a SKU, a quantity and a unit price."""

    line_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000)
    unit_price: PositiveMoney

    @property
    def amount(self) -> Decimal:
        """Line total."""
        return q(self.unit_price * self.quantity)


class PaymentMethod(Strict):
    """How the customer pays: a tokenised card from the channel's checkout, or (B2B) an
    invoice per shipment, due `terms_days` after it ships."""

    method: Literal["card", "invoice"] = "card"
    # A card's gateway token; an invoice takes none ("" then, so the field stays a `str`).
    token: str = Field(default="", max_length=200, validate_default=True)
    # Payment terms of an invoice (net 30 unless told); a card has none.
    terms_days: int | None = Field(default=None, ge=0, le=365, validate_default=True)

    @field_validator("token")
    @classmethod
    def _token_for_card(cls, value: str, info: ValidationInfo) -> str:
        method = info.data.get("method", "card")
        if method == "card" and not value:
            raise PydanticCustomError("missing", "a card payment needs a token")
        if method == "invoice" and value:
            raise PydanticCustomError("extra_forbidden", "an invoice payment takes no token")
        return value

    @field_validator("terms_days")
    @classmethod
    def _terms_for_invoice(cls, value: int | None, info: ValidationInfo) -> int | None:
        method = info.data.get("method", "card")
        if method == "invoice":
            return DEFAULT_TERMS_DAYS if value is None else value
        if value is not None:
            raise PydanticCustomError("extra_forbidden", "only an invoice payment has terms")
        return None

    @property
    def is_invoice(self) -> bool:
        """Paid by invoice: the card gateway is never involved."""
        return self.method == "invoice"


class CanonicalOrder(Strict):
    """The order every channel maps to (the `POST /v1/orders` body)."""

    channel: Channel
    external_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    # The number the channel shows the customer (Shopify's "#1001"); absent, the external id is.
    order_number: str | None = Field(default=None, min_length=1, max_length=64)
    customer: Customer
    ship_to: Address
    lines: list[OrderLine] = Field(min_length=1, max_length=500)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    shipping_service: ShippingService = "standard"
    shipping_price: PositiveMoney = Decimal("0")
    tax_total: PositiveMoney = Decimal("0")
    payment: PaymentMethod
    placed_at: datetime | None = None

    @model_validator(mode="after")
    def _unique_line_ids(self) -> CanonicalOrder:
        seen: set[str] = set()
        for index, line in enumerate(self.lines):
            if line.line_id in seen:
                raise ValueError(f"lines[{index}].line_id: duplicate line_id {line.line_id!r}")
            seen.add(line.line_id)
        return self

    @property
    def display_number(self) -> str:
        """The order number the customer knows: the channel's own, else the external id."""
        return self.order_number or self.external_id

    @property
    def merchandise_total(self) -> Decimal:
        """Sum of the lines."""
        return q(sum((line.amount for line in self.lines), Decimal(0)))

    @property
    def total(self) -> Decimal:
        """What the customer pays: lines, shipping and tax."""
        return q(self.merchandise_total + self.shipping_price + self.tax_total)


def order_id_for(channel: str, external_id: str) -> str:
    """A stable, URL-safe order id for (channel, external id): same input, same id."""
    digest = hashlib.sha256(f"{channel}\x00{external_id}".encode()).hexdigest()
    return f"ord_{digest[:20]}"


def workflow_id_for(channel: str, external_id: str) -> str:
    """The order workflow id; starting it twice is refused by Temporal, which dedupes ingestion."""
    return f"order-{channel}-{external_id}"
