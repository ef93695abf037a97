"""`/v1/channels`: signed webhooks from Shopify and WooCommerce, and the dead-letter queue."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, SecretStr

from api.deps import SessionDep, SessionsDep, SettingsDep, TemporalDep, get_credential_box, require
from api.errors import ApiError
from services import channels as service
from services import connections, webhooks

router = APIRouter(tags=["channels"])
# Real order payloads are tens of kilobytes; refuse absurd bodies before reading them.
MAX_BODY_BYTES = 2 * 1024 * 1024


class DeadLetterView(BaseModel):
    """A delivery that did not become an order, and why."""

    id: int
    channel: str
    delivery_id: str
    topic: str
    reason: str
    field: str | None
    status: str
    attempts: int
    order_id: str | None
    headers: dict[str, Any]
    body: str
    created_at: datetime
    replayed_at: datetime | None


def _secrets(*values: SecretStr | None) -> list[str]:
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


async def _raw_body(request: Request) -> bytes:
    """The exact bytes the channel signed (parsing first would change them)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
    return body


def _answer(outcome: service.Outcome) -> JSONResponse:
    """The channel's answer: 422 with the reason for a payload that cannot become an order;
    everything else is acknowledged with 200, so the channel stops redelivering it."""
    body = {k: v for k, v in asdict(outcome).items() if v not in (None, "", False)}
    status = 422 if outcome.status == "rejected" else 200
    return JSONResponse(body | {"status": outcome.status}, status_code=status)


async def _receive(request: Request, delivery: service.Delivery) -> JSONResponse:
    app = request.app
    client = await app.state.temporal.get()
    # Unavailable (503) when Temporal is not reachable: the channel delivers again later.
    outcome = await service.receive(app.state.sessions, client, app.state.settings, delivery)
    return _answer(outcome)


async def _connection(
    request: Request, session: Any, channel: str, domain: str | None, default: list[str]
) -> tuple[str | None, list[str]]:
    """(connection id, secrets) for a delivery: the connected shop that names itself `domain`,
    else the default account (`OMS_*_WEBHOOK_SECRET`)."""
    if domain:
        row = await connections.find_by_domain(session, channel, domain)
        if row is not None:
            box = get_credential_box(request)
            return row.connection_id, [connections.webhook_secret(box, row)]
    return None, default


def _first(request: Request, *names: str) -> str | None:
    return next((request.headers[n] for n in names if request.headers.get(n)), None)


@router.post("/v1/channels/shopify/webhooks", responses={401: {}, 422: {}})
async def shopify_webhook(
    request: Request, settings: SettingsDep, session: SessionDep
) -> JSONResponse:
    """Shopify order webhooks, verified by their HMAC header (either spelling); the shop is
    picked by its domain header among connected shops."""
    body = await _raw_body(request)
    domain = _first(request, "x-shopify-shop-domain", "shopify-shop-domain")
    default = _secrets(settings.shopify_webhook_secret, settings.shopify_webhook_secret_previous)
    connection_id, secrets = await _connection(request, session, "shopify", domain, default)
    delivery = webhooks.shopify_delivery(request.headers, body, secrets)
    return await _receive(request, replace(delivery, connection_id=connection_id))


@router.post("/v1/channels/woocommerce/webhooks", responses={401: {}, 422: {}})
async def woocommerce_webhook(
    request: Request, settings: SettingsDep, session: SessionDep
) -> JSONResponse:
    """WooCommerce order webhooks, verified by X-WC-Webhook-Signature; the site is picked by
    X-WC-Webhook-Source among connected shops; the ping is answered."""
    body = await _raw_body(request)
    source = _first(request, "x-wc-webhook-source")
    domain = urlsplit(source).netloc if source else None
    default = _secrets(settings.woocommerce_webhook_secret)
    connection_id, secrets = await _connection(request, session, "woocommerce", domain, default)
    delivery = webhooks.woocommerce_delivery(request.headers, body, secrets)
    if delivery is None:
        return JSONResponse({"status": "pong"})
    return await _receive(request, replace(delivery, connection_id=connection_id))


@router.get(
    "/v1/channels/dead-letters",
    response_model=list[DeadLetterView],
    dependencies=[Depends(require("orders:read"))],
)
async def list_dead_letters(
    session: SessionDep,
    status: Annotated[str | None, Query(pattern=r"^(open|replayed|discarded)$")] = "open",
    channel: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeadLetterView]:
    """Deliveries that did not become orders (open by default), newest first."""
    rows = await service.list_dead_letters(session, status=status, channel=channel, limit=limit)
    return [
        DeadLetterView(
            id=r.id,
            channel=r.channel,
            delivery_id=r.delivery_id,
            topic=r.topic,
            reason=r.reason,
            field=r.field,
            status=r.status,
            attempts=r.attempts,
            order_id=r.order_id,
            headers=r.headers,
            body=r.body.decode("utf-8", errors="replace"),
            created_at=r.created_at,
            replayed_at=r.replayed_at,
        )
        for r in rows
    ]


@router.post(
    "/v1/channels/dead-letters/{dead_letter_id}/replay",
    dependencies=[Depends(require("orders:act"))],
    responses={404: {}, 409: {}, 422: {}},
)
async def replay_dead_letter(
    dead_letter_id: Annotated[int, Path(ge=1, le=2**62)],
    sessions: SessionsDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Process a dead letter again; 200 with the order, or 422 with the reason it still fails."""
    return _answer(await service.replay(sessions, client, settings, dead_letter_id))
