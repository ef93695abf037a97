"""`/v1/skus`: the merchant's catalogue, one SKU at a time or a CSV file; and cycle counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import SessionDep, SessionsDep, TemporalDep, require
from api.errors import ApiError
from domain.catalogue import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    SKU_PATTERN,
    ImportRejected,
    ImportTooLarge,
    SkuFields,
)
from domain.money import q as cents
from services import catalogue as service
from store.tables import Sku

router = APIRouter(tags=["catalogue"])
CSV_TYPES = frozenset({"text/csv", "application/csv"})
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": f"CSV with a header row; at most {MAX_IMPORT_ROWS} rows, "
        f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB",
    }
}
BAD_FILE: dict[int | str, dict[str, Any]] = {
    413: {"description": "The file is too large or has too many rows"},
    415: {"description": "Not sent as text/csv"},
    422: {"description": "Bad rows: `detail` lists each (CSV line, header = 1), nothing written"},
}
SkuPath = Annotated[str, Path(pattern=SKU_PATTERN, description="1-64 printable ASCII, no '/'")]


class SkuView(BaseModel):
    """A SKU as the API shows it."""

    sku: str
    name: str
    price: str
    weight_grams: int
    barcode: str | None
    hs_code: str | None
    origin_country: str | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    created_at: datetime
    updated_at: datetime


class SkuPage(BaseModel):
    """One page of `GET /v1/skus`."""

    items: list[SkuView]
    next_cursor: str | None


class SkuImportResult(BaseModel):
    """Answer to `POST /v1/skus/import`."""

    created: int
    updated: int


class CountImportResult(BaseModel):
    """Answer to `POST /v1/inventory/import`."""

    rows: int
    changed: int
    unchanged: int


def sku_view(row: Sku) -> SkuView:
    """The view of a stored SKU."""
    return SkuView(
        sku=row.sku,
        name=row.name,
        price=str(cents(row.price)),
        weight_grams=row.weight_grams,
        barcode=row.barcode,
        hs_code=row.hs_code,
        origin_country=row.origin_country,
        length_mm=row.length_mm,
        width_mm=row.width_mm,
        height_mm=row.height_mm,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def rejected(err: ImportRejected) -> JSONResponse:
    """422 naming every bad row of a file: `detail` items carry `line`, `sku`, `field`."""
    detail = [p.as_dict() for p in err.problems]
    body = {"error": err.code, "message": err.message, "detail": detail}
    return JSONResponse(status_code=422, content=body)


async def csv_body(request: Request) -> bytes:
    """The uploaded file: `text/csv`, read up to the import limit (413 beyond it)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CSV_TYPES:
        raise ApiError(415, "unsupported_media_type", "send the file as text/csv", "content-type")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_IMPORT_BYTES:
            message = f"the file is larger than {MAX_IMPORT_BYTES} bytes; split it"
            raise ApiError(413, "payload_too_large", message, "body")
    return bytes(body)


@router.get("/v1/skus", response_model=SkuPage, dependencies=[Depends(require("catalogue:read"))])
async def list_skus(
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="SKU prefix, part of the name, or the whole barcode"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> SkuPage:
    """The catalogue in SKU order, with search and cursor pagination."""
    page = await service.list_skus(session, limit, cursor, q)
    return SkuPage(items=[sku_view(r) for r in page.skus], next_cursor=page.next_cursor)


@router.get(
    "/v1/skus/{sku}", response_model=SkuView, dependencies=[Depends(require("catalogue:read"))]
)
async def get_sku(sku: SkuPath, session: SessionDep) -> SkuView:
    """One SKU (404 when the catalogue has none by that code)."""
    return sku_view(await service.get_sku(session, sku))


@router.put(
    "/v1/skus/{sku}",
    response_model=SkuView,
    status_code=200,
    dependencies=[Depends(require("catalogue:write"))],
    responses={201: {"model": SkuView, "description": "Created"}},
)
async def put_sku(
    sku: SkuPath, body: SkuFields, response: Response, sessions: SessionsDep
) -> SkuView:
    """Create (201) or replace (200) a SKU; optional fields left out are unset."""
    created, row = await service.put_sku(sessions, sku, body)
    if created:
        response.status_code = 201
    return sku_view(row)


@router.post(
    "/v1/skus/import",
    response_model=SkuImportResult,
    dependencies=[Depends(require("catalogue:write"))],
    openapi_extra=CSV_BODY,
    responses=BAD_FILE,
)
async def import_skus(request: Request, sessions: SessionsDep) -> Any:
    """Create or update the SKUs of a CSV file (header: `sku,name,price,weight_grams`, and any
    optional field); all or nothing. On existing SKUs only the file's columns change."""
    body = await csv_body(request)
    try:
        result = await service.import_skus(sessions, body)
    except ImportTooLarge as err:
        raise ApiError(413, err.code, err.message, "body") from err
    except ImportRejected as err:
        return rejected(err)
    return SkuImportResult(created=result.created, updated=result.updated)


@router.post(
    "/v1/inventory/import",
    response_model=CountImportResult,
    dependencies=[Depends(require("inventory:write"))],
    openapi_extra=CSV_BODY,
    responses=BAD_FILE,
)
async def import_counts(request: Request, sessions: SessionsDep, client: TemporalDep) -> Any:
    """A cycle count (`sku,location_id,on_hand`): each level is set to what was counted, the
    difference logged as a `cycle_count` movement and sent to the channels; all or nothing."""
    body = await csv_body(request)
    try:
        result = await service.import_counts(sessions, client, body)
    except ImportTooLarge as err:
        raise ApiError(413, err.code, err.message, "body") from err
    except ImportRejected as err:
        return rejected(err)
    return CountImportResult(rows=result.rows, changed=result.changed, unchanged=result.unchanged)
