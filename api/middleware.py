"""HTTP middleware: request context and log, rate limits, a body size limit, CORS for the codec
server, security headers.

All are plain ASGI middleware (no `BaseHTTPMiddleware`), so they never buffer a response and
refuse oversized bodies while they stream in, before a route reads them.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import Settings

log = structlog.get_logger(__name__)
# Probes and scrapers must never be throttled, or an outage of our own making follows.
UNLIMITED_PATHS = frozenset({"/healthz", "/livez", "/metrics"})
WEBHOOK_PREFIX = "/v1/channels/"
CODEC_PREFIX = "/codec"
# Swagger UI and ReDoc load their scripts from a CDN and run inline bootstrap code.
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    """Our JSON error format, for responses sent before the app's handlers run."""
    detail = [{"field": field, "message": message}] if field else []
    return json.dumps({"error": code, "message": message, "detail": detail}).encode()


async def send_json(send: Send, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    """Send a complete JSON response."""
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets by caller, the least recently seen evicted beyond `max_keys`."""

    def __init__(self, rate: float, burst: int, max_keys: int = 50_000) -> None:
        self.rate, self.burst, self.max_keys = rate, float(burst), max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Spend a token: 0.0 when allowed, else the seconds until one is available."""
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def client_ip(scope: Scope, trust_forwarded_for: bool) -> str:
    """The caller's address (the first X-Forwarded-For hop only when told to trust it)."""
    if trust_forwarded_for:
        forwarded = Headers(scope=scope).get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[0].strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    """429 with Retry-After once a caller's bucket is empty."""

    def __init__(self, app: ASGIApp, limits: Settings) -> None:
        self.app, self.limits = app, limits
        self.api = TokenBuckets(limits.rate_limit_rps, limits.rate_limit_burst)
        self.webhooks = TokenBuckets(limits.webhook_rate_limit_rps, limits.webhook_rate_limit_burst)

    def _caller(self, scope: Scope) -> tuple[TokenBuckets, str]:
        path: str = scope["path"]
        ip = client_ip(scope, self.limits.trust_forwarded_for)
        if path.startswith(WEBHOOK_PREFIX):
            return self.webhooks, f"ip:{ip}"
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            # A digest, so bucket keys held in memory are not usable credentials.
            return self.api, "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:24]
        return self.api, f"ip:{ip}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        buckets, key = self._caller(scope)
        wait = buckets.take(key, time.monotonic())
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        log.info("rate limited", path=scope["path"], caller=key[:12], retry_after=retry_after)
        body = error_body("rate_limited", f"too many requests; retry after {retry_after} s")
        await send_json(send, 429, body, [("retry-after", str(retry_after))])


class _BodyTooLarge(Exception):
    """Raised from `receive` once the streamed body passes the limit."""


class BodyLimitMiddleware:
    """413 for bodies over the limit: by Content-Length up front, or counted while streaming."""

    def __init__(self, app: ASGIApp, limits: Settings) -> None:
        self.app, self.limits = app, limits

    def _limit(self, path: str) -> int:
        if path.startswith(CODEC_PREFIX + "/"):
            return self.limits.codec_max_body_bytes
        return self.limits.max_body_bytes

    async def _refuse(self, send: Send, limit: int) -> None:
        message = f"request body is larger than {limit} bytes; send a smaller body"
        await send_json(send, 413, error_body("payload_too_large", message, "body"), [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # Inner layers may turn our exception into a 400; the caller must see the 413.
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if exceeded and not started:
            await self._refuse(send, limit)


class RequestContextMiddleware:
    """A request id (from `x-request-id` or new) on every log line of the request and on the
    response; one log line per request with its status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()
        request_id = Headers(scope=scope).get("x-request-id") or uuid.uuid4().hex[:16]
        structlog.contextvars.bind_contextvars(request_id=request_id, path=scope["path"])
        started, status = time.perf_counter(), 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )


class SecurityHeadersMiddleware:
    """nosniff on every response; CSP, frame denial and referrer policy on HTML pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in DOCS_PATHS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                add = [(b"x-content-type-options", b"nosniff")]
                content_type = Headers(raw=headers).get("content-type", "")
                if content_type.startswith("text/html"):
                    add += [
                        (b"content-security-policy", (DOCS_CSP if docs else CSP).encode()),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    ]
                headers += [(k, v) for k, v in add if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def ui_origins(temporal_ui_url: str) -> list[str]:
    """The Temporal UI origin, plus its loopback alias (browsers treat the two as different)."""
    parts = urlsplit(temporal_ui_url)
    if not parts.scheme or not parts.hostname:
        return []
    port = f":{parts.port}" if parts.port else ""
    origins = [f"{parts.scheme}://{parts.hostname}{port}"]
    aliases = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}
    if parts.hostname in aliases:
        origins.append(f"{parts.scheme}://{aliases[parts.hostname]}{port}")
    return origins


class CodecCorsMiddleware:
    """CORS for the codec server only: the Temporal UI calls it from the browser."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            # The UI's "include cross-origin credentials" sends the dashboard session cookie.
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["path"] == CODEC_PREFIX or scope["path"].startswith(CODEC_PREFIX + "/")
        ):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Install the OMS middleware stack on `app`, its limits from `settings`."""
    # Starlette wraps in reverse order of addition: the last added runs first.
    app.add_middleware(BodyLimitMiddleware, limits=settings)
    if settings.rate_limit_enabled:
        app.add_middleware(RateLimitMiddleware, limits=settings)
    app.add_middleware(CodecCorsMiddleware, origins=ui_origins(settings.temporal_ui_url))
    app.add_middleware(SecurityHeadersMiddleware)
