"""Payment activities: authorize, capture per shipment, void the rest, refund.

Every call carries an idempotency key built by the workflow from its id and the step, so a
retry after a crash (even between the gateway's answer and the activity's completion) reaches
the gateway with the same key and never charges twice.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import io
from integrations.errors import IntegrationError
from integrations.payments.protocol import PaymentGateway

log = structlog.get_logger(__name__)
T = TypeVar("T")


async def call(operation: Awaitable[T]) -> T:
    """Run an adapter call; its typed errors become Temporal errors of the same name."""
    try:
        return await operation
    except IntegrationError as err:
        raise ApplicationError(
            str(err), type=type(err).__name__, non_retryable=not err.retryable
        ) from err


class PaymentActivities:
    """Talks to the configured payment gateway."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    @activity.defn
    async def authorize_payment(self, inp: io.AuthorizeInput) -> io.AuthorizeResult:
        """Hold the order total on the customer's card."""
        auth = await call(
            self._gateway.authorize(
                idempotency_key=inp.idempotency_key,
                amount=inp.amount,
                currency=inp.currency,
                token=inp.token,
                reference=inp.order_id,
            )
        )
        log.info("payment authorized", order_id=inp.order_id, amount=str(auth.amount))
        return io.AuthorizeResult(
            authorization_id=auth.authorization_id, amount=auth.amount, status=auth.status
        )

    @activity.defn
    async def increment_authorization(self, inp: io.IncrementInput) -> io.AuthorizeResult:
        """Raise the authorization to the order's new total (incremental authorization)."""
        auth = await call(
            self._gateway.increment(
                idempotency_key=inp.idempotency_key,
                authorization_id=inp.authorization_id,
                total=inp.total,
            )
        )
        log.info("authorization raised", order_id=inp.order_id, amount=str(auth.amount))
        return io.AuthorizeResult(
            authorization_id=auth.authorization_id, amount=auth.amount, status=auth.status
        )

    @activity.defn
    async def capture_payment(self, inp: io.PaymentOpInput) -> io.PaymentOpResult:
        """Capture what one shipment carried."""
        result = await call(
            self._gateway.capture(
                idempotency_key=inp.idempotency_key,
                authorization_id=inp.authorization_id,
                amount=inp.amount,
            )
        )
        log.info("payment captured", order_id=inp.order_id, amount=str(result.amount))
        return io.PaymentOpResult(status=result.status, amount=result.amount)

    @activity.defn
    async def void_payment(self, inp: io.PaymentOpInput) -> io.PaymentOpResult:
        """Release whatever was authorized and not captured."""
        result = await call(
            self._gateway.void(
                idempotency_key=inp.idempotency_key, authorization_id=inp.authorization_id
            )
        )
        log.info("payment voided", order_id=inp.order_id, amount=str(result.amount))
        return io.PaymentOpResult(status=result.status, amount=result.amount)

    @activity.defn
    async def refund_payment(self, inp: io.PaymentOpInput) -> io.PaymentOpResult:
        """Give back part of what was captured."""
        result = await call(
            self._gateway.refund(
                idempotency_key=inp.idempotency_key,
                authorization_id=inp.authorization_id,
                amount=inp.amount,
            )
        )
        log.info("payment refunded", order_id=inp.order_id, amount=str(result.amount))
        return io.PaymentOpResult(status=result.status, amount=result.amount)
