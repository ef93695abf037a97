"""Error responses: every 4xx names the field or says why; nothing becomes a 500."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain import errors as domain

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """A refusal with a status code, a machine-readable code and a human reason."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "lines", 0, "quantity")` -> `lines[0].quantity`."""
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header"):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _error_body(code: str, message: str, details: list[dict[str, str]] | None = None) -> dict:
    return {"error": code, "message": message, "detail": details or []}


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = []
    for err in exc.errors():
        field = field_path(err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        # Model-level validators prefix their message with the field they are about.
        if ": " in msg and field == "body":
            head, _, rest = msg.partition(": ")
            field, msg = head.removeprefix("Value error, "), rest
        elif msg.startswith("Value error, ") and ": " in msg:
            head, _, rest = msg.removeprefix("Value error, ").partition(": ")
            if head.startswith("lines["):
                field, msg = head, rest
        details.append({"field": field, "message": msg})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return JSONResponse(status_code=422, content=_error_body("validation_error", summary, details))


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    details = [{"field": exc.field, "message": exc.message}] if exc.field else []
    message = f"{exc.field}: {exc.message}" if exc.field else exc.message
    return JSONResponse(status_code=exc.status, content=_error_body(exc.code, message, details))


# The one place a domain error becomes an HTTP status.
STATUS: dict[type[domain.DomainError], int] = {
    domain.Unauthenticated: 401,
    domain.NotFound: 404,
    domain.InvalidInput: 422,
    domain.BadRequest: 400,
    domain.Refused: 409,
    domain.AlreadyExists: 409,
    domain.Unavailable: 503,
}


def status_for(exc: domain.DomainError) -> int:
    """The HTTP status of a domain error (its nearest mapped class)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 409


async def _domain_error(request: Request, exc: domain.DomainError) -> JSONResponse:
    return await _api_error(request, ApiError(status_for(exc), exc.code, exc.message, exc.field))


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status_code,
        content=_error_body("http_error", str(exc.detail)),
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", error=str(exc))
    return JSONResponse(status_code=500, content=_error_body("internal_error", "internal error"))


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(domain.DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
