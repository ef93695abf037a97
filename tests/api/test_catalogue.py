"""The catalogue over real HTTP: SKUs one by one and by CSV, cycle counts by CSV, permissions.

Most run on SQLite and PostgreSQL: the app on a migrated, seeded database and a real Temporal
server, no worker. The outbox rows of a count are checked in tests/services/test_catalogue.py
(here the stock-change relay drains them), their way to a channel in
tests/integrations/channels/test_cycle_count_sync.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from api import auth
from store import inventory
from store.inventory import Hold
from store.tables import StockLevel, StockMovement
from tests.conftest import (
    ADMIN_KEY,
    Stack,
    canonical_order,
    drop_postgres,
    fresh_postgres,
    postgres_url,
    running_stack,
)

HEADER = "sku,name,price,weight_grams,barcode,hs_code,origin_country,length_mm,width_mm,height_mm"
TEE = {"name": "Linen shirt", "price": "49.90", "weight_grams": 240}


@pytest.fixture(params=["sqlite", "postgresql"])
async def cat(
    request: pytest.FixtureRequest, temporal_client: Client, tmp_path: Path
) -> AsyncIterator[Stack]:
    """The app on each database, without a worker."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    else:
        base = postgres_url()
        if not base:
            pytest.skip("PostgreSQL not available (run through `make test`)")
        url, name = await fresh_postgres(base)
    try:
        async with running_stack(
            temporal_client, url, auto_warehouse=False, run_worker=False
        ) as stack:
            yield stack
    finally:
        if name:
            await drop_postgres(postgres_url() or "", name)


async def put(stack: Stack, sku: str, body: dict[str, Any], key: str = ADMIN_KEY) -> httpx.Response:
    return await stack.http.put(f"/v1/skus/{sku}", json=body, headers=stack.headers(key))


async def post_csv(stack: Stack, path: str, text: str, key: str = ADMIN_KEY) -> httpx.Response:
    headers = {**stack.headers(key), "content-type": "text/csv"}
    return await stack.http.post(path, content=text.encode(), headers=headers)


def fields_of(response: httpx.Response) -> set[str]:
    return {d["field"] for d in response.json()["detail"]}


async def movements(stack: Stack, sku: str) -> list[tuple[str, str, int, str]]:
    async with stack.sessions() as session:
        rows = await session.execute(
            select(
                StockMovement.kind,
                StockMovement.location_id,
                StockMovement.on_hand_delta,
                StockMovement.reason,
            )
            .where(StockMovement.sku == sku)
            .order_by(StockMovement.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def on_hand(stack: Stack, sku: str) -> dict[str, int]:
    inv = await stack.get(f"/v1/inventory/{sku}")
    assert inv.status_code == 200, inv.text
    return {x["location_id"]: x["on_hand"] for x in inv.json()["locations"]}


async def test_put_creates_then_replaces_a_sku(cat: Stack) -> None:
    full = {**TEE, "barcode": "0123456789012", "hs_code": "6205.20", "origin_country": "pt"}
    full |= {"length_mm": 300, "width_mm": 200, "height_mm": 20}
    created = await put(cat, "SHIRT-LINEN-M", full)
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["sku"] == "SHIRT-LINEN-M" and view["price"] == "49.90"
    assert (view["hs_code"], view["origin_country"]) == ("620520", "PT")
    assert (view["length_mm"], view["width_mm"], view["height_mm"]) == (300, 200, 20)

    replaced = await put(cat, "SHIRT-LINEN-M", {**TEE, "price": 45, "weight_grams": 250})
    assert replaced.status_code == 200, replaced.text
    again = (await cat.get("/v1/skus/SHIRT-LINEN-M")).json()
    assert again == replaced.json()
    assert (again["price"], again["weight_grams"]) == ("45.00", 250)
    assert again["barcode"] is None and again["length_mm"] is None  # a PUT replaces the SKU
    assert again["created_at"] == view["created_at"]
    assert again["updated_at"] >= view["updated_at"]

    missing = await cat.get("/v1/skus/NO-SUCH-SKU")
    assert missing.status_code == 404 and "NO-SUCH-SKU" in missing.json()["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "1.001"}, "price"),
        ({"price": -1}, "price"),
        ({"price": "cheap"}, "price"),
        ({"weight_grams": 0}, "weight_grams"),
        ({"weight_grams": 1.5}, "weight_grams"),
        ({"origin_country": "XX"}, "origin_country"),
        ({"origin_country": "USA"}, "origin_country"),
        ({"hs_code": "12345"}, "hs_code"),
        ({"hs_code": "12345678901"}, "hs_code"),
        ({"hs_code": "6109-10"}, "hs_code"),
        ({"length_mm": 0}, "length_mm"),
        ({"height_mm": -3}, "height_mm"),
        ({"colour": "blue"}, "colour"),
        ({"name": ""}, "name"),
    ],
)
async def test_bad_fields_are_422_naming_the_field(
    api_stack: Stack, change: dict[str, Any], field: str
) -> None:
    response = await put(api_stack, "SKU-1", {**TEE, **change})
    assert response.status_code == 422, response.text
    assert fields_of(response) == {field}
    assert field in response.json()["message"]
    assert (await api_stack.get("/v1/skus/SKU-1")).status_code == 404


async def test_a_sku_code_must_fit_a_path_and_required_fields_are_named(api_stack: Stack) -> None:
    spaced = await put(api_stack, "has%20space", TEE)
    assert spaced.status_code == 422 and fields_of(spaced) == {"sku"}
    too_long = await put(api_stack, "X" * 65, TEE)
    assert too_long.status_code == 422 and fields_of(too_long) == {"sku"}
    missing = await put(api_stack, "SKU-2", {"name": "x"})
    assert missing.status_code == 422 and fields_of(missing) == {"price", "weight_grams"}


def sku_file(count: int, prefix: str = "BULK", price: str = "9.99") -> str:
    lines = [HEADER]
    for i in range(count):
        lines.append(f"{prefix}-{i:03d},Bulk item {i},{price},{100 + i},BC{prefix}{i},,,,,")
    return "\n".join(lines) + "\n"


async def test_a_hundred_skus_by_csv_then_updated_by_a_partial_file(cat: Stack) -> None:
    response = await post_csv(cat, "/v1/skus/import", sku_file(120))
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 120, "updated": 0}
    one = (await cat.get("/v1/skus/BULK-042")).json()
    assert (one["name"], one["price"], one["weight_grams"]) == ("Bulk item 42", "9.99", 142)
    assert one["barcode"] == "BCBULK42" and one["hs_code"] is None

    # Only the file's columns change on existing SKUs; a blank optional cell unsets the field.
    partial = "sku,name,price,weight_grams,origin_country,barcode\n"
    partial += "".join(f"BULK-{i:03d},Renamed {i},12.50,99,de,\n" for i in range(100))
    partial += "NEW-ONE,Fresh,1,1,,\n"
    updated = await post_csv(cat, "/v1/skus/import", partial)
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"created": 1, "updated": 100}
    one = (await cat.get("/v1/skus/BULK-042")).json()
    assert (one["name"], one["price"], one["origin_country"]) == ("Renamed 42", "12.50", "DE")
    assert one["barcode"] is None
    untouched = (await cat.get("/v1/skus/BULK-110")).json()
    assert (untouched["name"], untouched["barcode"]) == ("Bulk item 110", "BCBULK110")


async def test_a_file_with_bad_rows_writes_nothing_and_names_each(cat: Stack) -> None:
    lines = sku_file(60, prefix="BAD").splitlines()
    lines[5] = "BAD-004X,Broken price,12.345,100,,,,,,"  # line 6 of the file
    lines[9] = lines[2].replace("Bulk item 1", "Same SKU again")  # line 10 repeats line 3's SKU
    lines[20] = "BAD-019X,Bad country,1.00,100,,,ZZ,,,"  # line 21
    response = await post_csv(cat, "/v1/skus/import", "\n".join(lines) + "\n")
    assert response.status_code == 422, response.text
    problems = {(d["line"], d["field"]) for d in response.json()["detail"]}
    assert problems == {(6, "price"), (10, "sku"), (21, "origin_country")}
    duplicate = next(d for d in response.json()["detail"] if d["line"] == 10)
    assert duplicate["sku"] == "BAD-001" and "line 3" in duplicate["message"]
    assert "line 6 price" in response.json()["message"]
    assert (await cat.get("/v1/skus?q=BAD")).json()["items"] == []

    unknown = await post_csv(cat, "/v1/skus/import", "sku,name,price,weight_grams,colour\n")
    assert unknown.status_code == 422 and fields_of(unknown) == {"colour"}
    assert unknown.json()["detail"][0]["line"] == 1
    missing = await post_csv(cat, "/v1/skus/import", "sku,name\nA,b\n")
    assert missing.status_code == 422 and fields_of(missing) == {"price", "weight_grams"}
    ragged = await post_csv(cat, "/v1/skus/import", "sku,name,price,weight_grams\nA,b,1\n")
    assert ragged.status_code == 422 and ragged.json()["detail"][0]["line"] == 2


async def test_import_limits_and_media_type(api_stack: Stack) -> None:
    as_json = await api_stack.http.post(
        "/v1/skus/import", json={"sku": "A"}, headers=api_stack.headers()
    )
    assert as_json.status_code == 415 and fields_of(as_json) == {"content-type"}
    rows = "sku,name,price,weight_grams\n" + "".join(f"R{i},n,1,1\n" for i in range(10_001))
    too_many = await post_csv(api_stack, "/v1/skus/import", rows)
    assert too_many.status_code == 413 and "10000 rows" in too_many.json()["message"]
    huge = await post_csv(
        api_stack, "/v1/skus/import", "sku,name,price,weight_grams\n" + "x" * (6 << 20)
    )
    assert huge.status_code == 413
    latin1 = await api_stack.http.post(
        "/v1/skus/import",
        content="sku,name,price,weight_grams\nA,Café,1,1\n".encode("latin-1"),
        headers={**api_stack.headers(), "content-type": "text/csv"},
    )
    assert latin1.status_code == 422 and "UTF-8" in latin1.json()["message"]
    assert (await api_stack.get("/v1/skus?q=R1")).json()["items"] == []


async def test_list_searches_and_pages(cat: Stack) -> None:
    text = (
        HEADER
        + "\n"
        + "\n".join(
            [
                "MUG-BLUE,Enamel mug (blue),12,300,4006381333931,,,,,",
                "MUG-RED,Enamel mug (red),12,300,,,,,,",
                "PLATE-1,Stoneware plate 100%,20,500,,,,,,",
                "mug_tiny,Espresso cup,8,90,,,,,,",
            ]
        )
    )
    assert (await post_csv(cat, "/v1/skus/import", text)).status_code == 200

    async def skus(query: str) -> list[str]:
        response = await cat.get(f"/v1/skus?{query}")
        assert response.status_code == 200, response.text
        return [item["sku"] for item in response.json()["items"]]

    # The seed has MUG-12OZ, "Enamel mug 12oz".
    assert await skus("q=mug-") == ["MUG-12OZ", "MUG-BLUE", "MUG-RED"]  # a SKU prefix, any case
    assert await skus("q=ENAMEL") == ["MUG-12OZ", "MUG-BLUE", "MUG-RED"]  # part of the name
    assert await skus("q=4006381333931") == ["MUG-BLUE"]  # the whole barcode
    assert await skus("q=400638") == []  # ... not part of it
    assert await skus("q=100%25") == ["PLATE-1"]  # LIKE wildcards are literal
    assert await skus("q=mug_") == ["mug_tiny"]

    seen: list[str] = []
    cursor = ""
    while True:
        page = (await cat.get(f"/v1/skus?limit=5{cursor}")).json()
        assert len(page["items"]) <= 5
        seen += [item["sku"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 12 + 4  # the seed has 12
    bad = await cat.get("/v1/skus?cursor=bm9wZQ")
    assert bad.status_code == 400 and fields_of(bad) == {"cursor"}


async def test_a_new_sku_takes_adjustments_and_cycle_counts(cat: Stack) -> None:
    assert (await put(cat, "LAMP-1", TEE)).status_code == 201
    adjusted = await cat.post(
        "/v1/inventory/adjustments",
        {"sku": "LAMP-1", "location_id": "WH-EAST", "delta": 5, "reason": "first delivery"},
    )
    assert adjusted.status_code == 200, adjusted.text

    count = "sku,location_id,on_hand\nLAMP-1,WH-EAST,12\nLAMP-1,WH-WEST,3\nTSHIRT-M,WH-EAST,200\n"
    response = await post_csv(cat, "/v1/inventory/import", count)
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 3, "changed": 2, "unchanged": 1}  # the seed has 200
    assert await on_hand(cat, "LAMP-1") == {"WH-EAST": 12, "WH-WEST": 3}
    kinds = await movements(cat, "LAMP-1")
    assert [(k, loc, d) for k, loc, d, _ in kinds] == [
        ("adjustment", "WH-EAST", 5),
        ("cycle_count", "WH-EAST", 7),
        ("cycle_count", "WH-WEST", 3),
    ]
    assert kinds[1][3] == "cycle count: counted 12, recorded 5"

    again = await post_csv(cat, "/v1/inventory/import", count)
    assert again.json() == {"rows": 3, "changed": 0, "unchanged": 3}
    assert len(await movements(cat, "LAMP-1")) == 3


async def test_a_cycle_count_changes_what_may_be_promised(cat: Stack) -> None:
    counted = await post_csv(
        cat, "/v1/inventory/import", "sku,location_id,on_hand\nMUG-12OZ,WH-EAST,150\n"
    )
    assert counted.json() == {"rows": 1, "changed": 1, "unchanged": 0}
    inv = (await cat.get("/v1/inventory/MUG-12OZ")).json()
    east = next(x for x in inv["locations"] if x["location_id"] == "WH-EAST")
    assert (east["on_hand"], east["available"]) == (150, 150 - east["safety_stock"])
    *seeded, (kind, _, delta, reason) = await movements(cat, "MUG-12OZ")
    assert {k for k, *_ in seeded} == {"receipt"}  # the demo seed's stock
    assert (kind, delta, reason) == ("cycle_count", -50, "cycle count: counted 150, recorded 200")


async def test_a_bad_count_writes_nothing_and_names_each_row(cat: Stack) -> None:
    async with cat.sessions.begin() as session:  # an order holds 4 units at WH-WEST
        await inventory.reserve(session, "ord_test", [Hold("1", "CAP-BLK", "WH-WEST", 4)])
    movements_before = await movements(cat, "CAP-BLK")
    count = "\n".join(
        [
            "sku,location_id,on_hand",
            "CAP-BLK,WH-EAST,50",  # fine, but the file is refused: not applied
            "NOPE-SKU,WH-EAST,1",
            "CAP-BLK,NOWHERE,1",
            "CAP-BLK,WH-CENTRAL,-1",
            "CAP-BLK,WH-WEST,3",
            "CAP-BLK,WH-CENTRAL,2.5",
            "CAP-BLK,WH-EAST,51",
        ]
    )
    response = await post_csv(cat, "/v1/inventory/import", count)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert {(d["line"], d["field"]) for d in detail} == {
        (3, "sku"),
        (4, "location_id"),
        (5, "on_hand"),
        (6, "on_hand"),
        (7, "on_hand"),
        (8, "sku"),
    }
    below = next(d for d in detail if d["line"] == 6)
    assert "4 units here are reserved" in below["message"]
    assert await movements(cat, "CAP-BLK") == movements_before
    assert (await on_hand(cat, "CAP-BLK"))["WH-EAST"] == 200
    # Counting exactly what is reserved is fine: nothing is left to sell there.
    ok = await post_csv(cat, "/v1/inventory/import", "sku,location_id,on_hand\nCAP-BLK,WH-WEST,4\n")
    assert ok.status_code == 200, ok.text
    async with cat.sessions() as session:
        level = await session.get(StockLevel, ("CAP-BLK", "WH-WEST"))
        assert level is not None and (level.on_hand, level.reserved) == (4, 4)


async def test_channel_keys_may_not_touch_the_catalogue(
    api_stack: Stack, role_keys: dict[str, str]
) -> None:
    channel, ops = role_keys["channel"], role_keys["ops"]
    count = "sku,location_id,on_hand\nTSHIRT-M,WH-EAST,201\n"
    calls = [
        lambda key: api_stack.get("/v1/skus", key=key),
        lambda key: api_stack.get("/v1/skus/TSHIRT-M", key=key),
        lambda key: put(api_stack, "OPS-1", TEE, key=key),
        lambda key: post_csv(api_stack, "/v1/skus/import", sku_file(2), key=key),
        lambda key: post_csv(api_stack, "/v1/inventory/import", count, key=key),
    ]
    for call in calls:
        refused = await call(channel)
        assert refused.status_code == 403, refused.text
    assert "catalogue:read" in (await calls[0](channel)).json()["message"]
    assert "inventory:write" in (await calls[4](channel)).json()["message"]
    assert [(await call(ops)).status_code for call in calls] == [200, 200, 201, 200, 200]
    assert (await api_stack.http.get("/v1/skus")).status_code == 401
    assert "catalogue:write" in auth.PERMISSIONS["admin"]


async def test_a_cycle_count_that_adds_stock_wakes_a_backorder(stack: Stack) -> None:
    """The worker runs: an order short of a SKU waits, and the count's units serve it."""
    assert (await put(stack, "RARE-1", {**TEE, "price": "10.00"})).status_code == 201
    order = canonical_order(
        lines=[{"line_id": "1", "sku": "RARE-1", "quantity": 2, "unit_price": "10.00"}]
    )
    created = await stack.post("/v1/orders", order)
    assert created.status_code == 202, created.text
    order_id = created.json()["order_id"]
    await stack.wait_for(order_id, "backordered")
    counted = await post_csv(
        stack, "/v1/inventory/import", "sku,location_id,on_hand\nRARE-1,WH-CENTRAL,2\n"
    )
    assert counted.status_code == 200, counted.text
    await stack.wait_for(order_id, "in_fulfillment", "shipped", "delivered", "completed")
