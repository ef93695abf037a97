"""Catalogue pages: the SKU list with search, one SKU's form, and the two CSV uploads.

Every write goes through the service the /v1 routes call (`services.catalogue`), with the
same permissions; a refused file shows each bad line the way the API's 422 names it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.dashboard.web import PageKey, can, check_csrf, flash, render
from api.deps import SessionDep, SessionsDep
from api.errors import field_path
from domain.catalogue import (
    MAX_IMPORT_BYTES,
    SKU_PATTERN,
    ImportRejected,
    ImportTooLarge,
    RowProblem,
    SkuFields,
)
from domain.errors import BadRequest, NotFound
from services import catalogue as service
from store.tables import ApiKey, Sku

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FORM_FIELDS = tuple(SkuFields.model_fields)
IMPORTS = {
    "skus": ("SKUs", "catalogue:write"),
    "stock": ("stock count", "inventory:write"),
}


def _values(row: Sku | None) -> dict[str, str]:
    """A SKU's fields as form values."""
    if row is None:
        return {}
    values = {name: getattr(row, name) for name in ("sku", *FORM_FIELDS)}
    return {k: "" if v is None else str(v) for k, v in values.items()}


async def _list_page(
    request: Request,
    key: ApiKey,
    session: Any,
    *,
    q: str = "",
    cursor: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response:
    if not can(key, "catalogue:read"):
        return render(request, key, "not_found.html", 403, message="catalogue:read required")
    try:
        page = await service.list_skus(session, PAGE_SIZE, cursor or None, q or None)
    except BadRequest as err:
        message = f"{err.field}: {err.message}" if err.field else err.message
        return render(request, key, "not_found.html", status_code=400, message=message)
    return render(
        request,
        key,
        "catalogue.html",
        status_code=status_code,
        skus=page.skus,
        next_cursor=page.next_cursor,
        q=q,
        can_write=can(key, "catalogue:write"),
        can_count=can(key, "inventory:write"),
        **context,
    )


@router.get("/catalogue", response_class=HTMLResponse)
async def catalogue(
    request: Request,
    key: PageKey,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """SKUs in SKU order, searchable by SKU prefix, name or barcode; and the uploads."""
    return await _list_page(request, key, session, q=q, cursor=cursor)


@router.get("/catalogue/skus/{sku}", response_class=HTMLResponse)
async def sku_page(request: Request, sku: str, key: PageKey, session: SessionDep) -> Response:
    """One SKU's form."""
    if not can(key, "catalogue:read"):
        return render(request, key, "not_found.html", 403, message="catalogue:read required")
    try:
        row = await service.get_sku(session, sku)
    except NotFound as err:
        return render(request, key, "not_found.html", status_code=404, message=err.message)
    return render(
        request,
        key,
        "sku.html",
        sku=sku,
        values=_values(row),
        errors={},
        updated=row.updated_at,
        can_write=can(key, "catalogue:write"),
    )


def _fields(form: dict[str, str]) -> tuple[SkuFields | None, dict[str, str]]:
    """The form as the PUT body (blank optional fields unset), or the errors by field."""
    try:
        return SkuFields.model_validate({k: v for k, v in form.items() if v != ""}), {}
    except ValidationError as err:
        return None, {
            field_path(e.get("loc", ())): str(e.get("msg", "invalid")).removeprefix("Value error, ")
            for e in err.errors()
        }


@router.post("/catalogue/skus", response_class=HTMLResponse)
async def save_sku(
    request: Request, key: PageKey, sessions: SessionsDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Create or replace a SKU from the form (the PUT /v1/skus/{sku} of the page)."""
    check_csrf(request, csrf)
    raw = await request.form()
    form = {name: str(raw.get(name) or "").strip() for name in ("sku", *FORM_FIELDS)}
    sku = form.pop("sku")
    if not can(key, "catalogue:write"):
        return render(request, key, "not_found.html", 403, message="catalogue:write required")
    fields, errors = _fields(form)
    if not re.match(SKU_PATTERN, sku):
        errors["sku"] = "1-64 printable characters, no spaces or /"
    if fields is None or errors:
        return render(
            request,
            key,
            "sku.html",
            status_code=422,
            sku=sku,
            values={"sku": sku, **form},
            errors=errors,
            can_write=True,
        )
    created, _ = await service.put_sku(sessions, sku, fields)
    flash(request, "ok", f"SKU {sku} {'created' if created else 'saved'}.")
    return RedirectResponse(f"/catalogue/skus/{quote(sku, safe='')}", status_code=303)


@router.post("/catalogue/import/{kind}", response_class=HTMLResponse)
async def upload(
    request: Request,
    kind: str,
    key: PageKey,
    sessions: SessionsDep,
    session: SessionDep,
) -> Response:
    """Import a SKU file or a stock count; a refused file lists every bad line."""
    if kind not in IMPORTS:
        return render(request, key, "not_found.html", 404, message=f"no import {kind!r}")
    raw = await request.form(max_part_size=MAX_IMPORT_BYTES)
    check_csrf(request, str(raw.get("csrf") or ""))
    label, permission = IMPORTS[kind]
    if not can(key, permission):
        return render(request, key, "not_found.html", 403, message=f"{permission} required")
    upload = raw.get("file")
    body = await upload.read() if isinstance(upload, UploadFile) else b""
    problems: list[RowProblem] = []
    try:
        if kind == "skus":
            done = await service.import_skus(sessions, body)
            message = f"SKU file imported: {done.created} created, {done.updated} updated."
        else:
            client = await request.app.state.temporal.get()
            counted = await service.import_counts(sessions, client, body)
            message = (
                f"Stock count imported: {counted.rows} row(s), {counted.changed} changed, "
                f"{counted.unchanged} unchanged."
            )
    except ImportTooLarge as err:
        problems = [RowProblem(1, "body", err.message)]
    except ImportRejected as err:
        problems = err.problems
    if problems:
        return await _list_page(
            request,
            key,
            session,
            status_code=422,
            import_label=label,
            problems=problems,
        )
    flash(request, "ok", message)
    return RedirectResponse("/catalogue", status_code=303)
