"""One order search for the API and the dashboard: every filter in SQL, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from domain.errors import BadRequest
from services.search import OrderFilters, encode_cursor, search_orders
from store.tables import OrderShipment
from tests.read_model import T0, ReadModel, shopify_order


async def ids(read_model: ReadModel, limit: int = 50, **filters: Any) -> list[str]:
    """The ids of the first page."""
    async with read_model.sessions() as session:
        page = await search_orders(session, OrderFilters(**filters), limit)
    return [o.order_id for o in page.orders]


async def test_location_pages_are_full_until_the_last(read_model: ReadModel) -> None:
    east = []
    for n in range(14):
        # Matches interleaved with orders elsewhere and with orders not routed yet.
        location = ["WH-EAST", "WH-WEST", None][n % 3]
        order_id = await read_model.order(n, location=location)
        if location == "WH-EAST":
            east.append(order_id)
    pages: list[list[str]] = []
    cursor = None
    async with read_model.sessions() as session:
        while True:
            page = await search_orders(session, OrderFilters(location="WH-EAST"), 2, cursor)
            pages.append([o.order_id for o in page.orders])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == east[::-1]  # newest first, each once


async def test_filters_combine(read_model: ReadModel) -> None:
    lines = [{"line_id": "1", "sku": "HOODIE-M", "quantity": 1, "unit_price": "54.00"}]
    web = await read_model.order(0, location="WH-EAST")
    pos = await read_model.order(1, channel="pos", location="WH-EAST", lines=lines)
    later = await read_model.order(60 * 24 * 2, channel="pos")
    assert await ids(read_model, channel="pos") == [later, pos]
    assert await ids(read_model, sku="HOODIE-M") == [pos]
    assert await ids(read_model, channel="pos", location="WH-EAST") == [pos]
    assert await ids(read_model, statuses=["in_fulfillment", "shipped"]) == [pos, web]
    assert await ids(read_model, statuses=["received"]) == [later]
    day = T0.date()
    assert await ids(read_model, date_from=day, date_to=day) == [pos, web]
    assert await ids(read_model, date_from=day + timedelta(days=1)) == [later]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ext-2", "ann"),  # external id, any case
        ("ANN.LEE@example.COM", "ann"),  # email, whole, any case
        ("  nn l ", "ann"),  # part of the name, trimmed
        ("LEE", "ann"),
        ("bob@example.com", "bob"),
        ("#9999", "shopify"),  # the channel's order number as its customers write it...
        ("9999", "shopify"),  # ... or without the sign
        ("820982911946154508", "shopify"),  # and its external id
    ],
)
async def test_q_matches_each_kind(read_model: ReadModel, q: str, expected: str) -> None:
    orders = {
        "ann": await read_model.order(
            2, customer={"email": "Ann.Lee@Example.com", "name": "Ann Lee"}
        ),
        "bob": await read_model.order(3, customer={"email": "bob@example.com", "name": "Bob"}),
        "shopify": await read_model.submit(shopify_order(), 4),
    }
    assert await ids(read_model, q=q) == [orders[expected]]


async def test_q_matches_order_id_prefixes_only(read_model: ReadModel) -> None:
    order_id = await read_model.order(0)
    other = await read_model.order(1)
    assert await ids(read_model, q=order_id[:10]) == [order_id]
    assert await ids(read_model, q=order_id[:10].upper()) == [order_id]
    assert await ids(read_model, q=order_id) == [order_id]
    assert set(await ids(read_model, q="ord_")) == {order_id, other}
    assert await ids(read_model, q=order_id[4:14]) == []  # the middle of an id is no prefix
    assert await ids(read_model, q="order-web-EXT-1") == [other]  # a workflow id, whole


async def test_q_wildcards_are_literal(read_model: ReadModel) -> None:
    await read_model.order(0, customer={"email": "x@example.com", "name": "Ann Lee"})
    assert await ids(read_model, q="%") == []
    assert await ids(read_model, q="a_n") == []
    assert await ids(read_model, q="ann lee") != []
    # Whatever the last character, the prefix's upper bound is text both databases take.
    for last in ("\ud7ff", "\U0010ffff", "\x7f"):
        assert await ids(read_model, q=f"ord_{last}") == []


async def test_bad_cursors_name_the_cursor(read_model: ReadModel) -> None:
    naive = encode_cursor(T0.replace(tzinfo=None), "ord_1")
    async with read_model.sessions() as session:
        for cursor in ("garbage", "W10", "WyJ4IiwgMV0", naive):
            with pytest.raises(BadRequest) as err:
                await search_orders(session, OrderFilters(), 10, cursor)
            assert err.value.field == "cursor"
        with pytest.raises(BadRequest) as err:
            await search_orders(session, OrderFilters(q="a\x00"), 10)
        assert err.value.field == "q"


async def test_a_late_older_snapshot_leaves_the_shipments_alone(read_model: ReadModel) -> None:
    order_id = await read_model.order(0)
    await read_model.ship(order_id, "WH-WEST", "1ZNEW", version=3)
    await read_model.ship(order_id, "WH-EAST", "1ZOLD", version=2)  # a retry arriving late
    async with read_model.sessions() as session:
        rows = (await session.scalars(select(OrderShipment))).all()
    assert [(r.location_id, r.tracking_number) for r in rows] == [("WH-WEST", "1ZNEW")]
    assert await ids(read_model, location="WH-EAST") == []
    # A newer snapshot without the shipment (cancelled and re-planned elsewhere) removes it.
    await read_model.project(order_id, 4, [])
    assert await ids(read_model, location="WH-WEST") == []
