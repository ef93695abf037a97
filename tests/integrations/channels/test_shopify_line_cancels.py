"""Partial line cancels pushed to Shopify: `ShopifyAdminClient.cancel_lines` against the sandbox
shop over real HTTP (order editing: `orderEditBegin`, `orderEditSetQuantity`, `orderEditCommit`),
retried after failures on either side of the commit, and the refusals it surfaces.

The operations and their arguments follow shopify.dev's GraphQL Admin reference (see
tests/integrations/fixtures/README.md, "Shopify order editing").
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from integrations.channels.shop import ShopFulfilment, ShopRequestError, ShopUnavailable
from integrations.channels.shopify_admin import ORDER_EDIT_SET_QUANTITY, gid
from tests.integrations.channels.shopify_sandbox import Sandbox, shopify_sandbox

PATH = "/admin/api/2026-10/graphql.json"


class Recorder(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox, recording each operation; `fail` makes one root field fail
    once, before the shop sees it (`lost="request"`) or after it acted (`lost="answer"`)."""

    def __init__(self, fail: str | None = None, lost: str = "request") -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fail, self.lost = fail, lost
        self.sent: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.sent.append(body)
        failing = self.fail is not None and f"{self.fail}(" in body["query"]
        if failing and self.lost == "request":
            self.fail = None
            raise httpx.ConnectError("connection reset", request=request)
        response = await self.inner.handle_async_request(request)
        if failing:
            self.fail = None
            await response.aread()
            raise httpx.ReadError("connection reset before the answer", request=request)
        return response

    def roots(self) -> list[str]:
        """The root field of each operation sent (`orderEditBegin`, `order`, ...)."""
        names = []
        for body in self.sent:
            head = body["query"].split("{", 2)[1].strip()
            names.append(head.split("(")[0].split()[0])
        return names


def _lines(sb: Sandbox, order_id: int) -> dict[int, tuple[int, int, int]]:
    """Line item id -> (quantity bought, current quantity, fulfillable) as the webhook shows."""
    doc = sb.shop.rest_order(sb.shop.order(order_id))
    return {
        li["id"]: (li["quantity"], li["current_quantity"], li["fulfillable_quantity"])
        for li in doc["line_items"]
    }


def _level(sb: Sandbox, sku: str) -> list[int | None]:
    item = sb.shop.variant(sku=sku)["inventory_item_id"]
    return [sb.shop.level(item, int(loc)) for loc in sb.shop.state["locations"]]


async def test_units_come_off_the_lines_once_and_the_rest_still_ships() -> None:
    async with shopify_sandbox() as sb:
        order = sb.shop.place_order(
            {"lines": [{"sku": "TSHIRT-M", "quantity": 3}, {"sku": "CAP-BLK", "quantity": 2}]}
        )
        ref, (tee, cap) = str(order["id"]), [li["id"] for li in order["line_items"]]
        stock = (_level(sb, "TSHIRT-M"), _level(sb, "CAP-BLK"))
        lines = [(str(tee), 2), (str(cap), 1)]
        for _ in range(3):  # the activity retried: one edit
            await sb.client.cancel_lines(
                ref, lines, reason="out of stock", idempotency_key="order-shopify-1:shop-lines:c1"
            )
        assert _lines(sb, order["id"]) == {tee: (3, 1, 1), cap: (2, 1, 1)}
        [edit] = sb.shop.order(ref)["edits"]
        assert edit["notify_customer"] is False
        assert edit["staff_note"].startswith("out of stock [order-shopify-1:shop-lines:c1 ")
        assert sorted((c["line_item_id"], c["delta"], c["restock"]) for c in edit["changes"]) == [
            (tee, -2, False),
            (cap, -1, False),
        ]
        note = sb.shop.order(ref)["note"]
        assert "2 x Organic tee, 1 x Cap (out of stock)" in note
        assert f"[order-shopify-1:shop-lines:c1 {tee}=1 {cap}=1]" in note
        assert (_level(sb, "TSHIRT-M"), _level(sb, "CAP-BLK")) == stock  # nothing restocked

        # A second cancel works from what the first left; the first, repeated late, does nothing.
        await sb.client.cancel_lines(
            ref, [(str(tee), 1)], reason="damaged", idempotency_key="order-shopify-1:shop-lines:c2"
        )
        await sb.client.cancel_lines(
            ref, lines, reason="out of stock", idempotency_key="order-shopify-1:shop-lines:c1"
        )
        assert _lines(sb, order["id"]) == {tee: (3, 0, 0), cap: (2, 1, 1)}
        assert len(sb.shop.order(ref)["edits"]) == 2

        # The last parcel fulfils what is left, not the cancelled units.
        await sb.client.fulfil(
            ShopFulfilment(ref, "UPS", "1Z-LEFT", "https://ups.example/1Z-LEFT", last_parcel=True),
            idempotency_key="order-shopify-1:ship:1",
        )
        [shipped] = sb.shop.order(ref)["fulfillments"]
        assert shipped["line_items"] == [{"line_item_id": cap, "quantity": 1}]
        assert sb.shop.rest_order(sb.shop.order(ref))["fulfillment_status"] == "fulfilled"


@pytest.mark.parametrize("lost", ["request", "answer"])
async def test_a_commit_lost_either_way_is_finished_by_the_retry_exactly_once(lost: str) -> None:
    recorder = Recorder(fail="orderEditCommit", lost=lost)
    async with shopify_sandbox(transport=recorder) as sb:
        order = sb.shop.place_order({"lines": [{"sku": "TSHIRT-M", "quantity": 4}]})
        ref, tee = str(order["id"]), order["line_items"][0]["id"]
        with pytest.raises(ShopUnavailable):
            await sb.client.cancel_lines(ref, [(str(tee), 3)], reason="oos", idempotency_key="k")
        # The marker was written before the commit: the retry sets the recorded quantity (1),
        # it does not take 3 more off what it finds.
        assert "[k " + f"{tee}=1]" in sb.shop.order(ref)["note"]
        committed = lost == "answer"
        assert len(sb.shop.order(ref).get("edits", [])) == int(committed)
        recorder.sent.clear()
        await sb.client.cancel_lines(ref, [(str(tee), 3)], reason="oos", idempotency_key="k")
        assert _lines(sb, order["id"]) == {tee: (4, 1, 1)}
        assert len(sb.shop.order(ref)["edits"]) == 1
        if committed:  # found done: only the order was read
            assert recorder.roots() == ["order"]
        else:
            assert recorder.roots() == [
                "order",
                "orderEditBegin",
                "orderEditSetQuantity",
                "orderEditCommit",
            ]


async def test_the_requests_have_the_documented_shapes() -> None:
    recorder = Recorder()
    async with shopify_sandbox(transport=recorder) as sb:
        order = sb.shop.place_order({"lines": [{"sku": "CAP-BLK", "quantity": 2}]})
        ref, cap = str(order["id"]), order["line_items"][0]["id"]
        await sb.client.cancel_lines(ref, [(str(cap), 2)], reason="oos", idempotency_key="k")
        begin, set_quantity, note, commit = recorder.sent[1:]
        assert "orderEditBegin(id: $id)" in begin["query"]
        assert begin["variables"] == {"id": gid("Order", ref)}
        # As the reference's example: the calculated order, its calculated line item, Int.
        variables = set_quantity["variables"]
        assert variables["id"].startswith("gid://shopify/CalculatedOrder/")
        assert variables["lineItemId"] == f"gid://shopify/CalculatedLineItem/{cap}"
        assert variables["quantity"] == 0
        assert "restock: false" in set_quantity["query"]
        assert "orderUpdate(" in note["query"]
        assert commit["variables"]["id"] == variables["id"]
        assert commit["variables"]["notifyCustomer"] is False
        assert commit["variables"]["staffNote"].startswith("oos [k ")
        assert _lines(sb, order["id"]) == {cap: (2, 0, 0)}


async def test_refusals_are_request_errors_and_change_nothing() -> None:
    async with shopify_sandbox() as sb:
        order = sb.shop.place_order({"lines": [{"sku": "TSHIRT-M", "quantity": 2}]})
        ref, tee = str(order["id"]), order["line_items"][0]["id"]
        await sb.client.fulfil(
            ShopFulfilment(ref, "UPS", "1Z1", "u", lines=[(str(tee), 1)]), idempotency_key="s1"
        )
        with pytest.raises(ShopRequestError) as err:  # one unit left unfulfilled
            await sb.client.cancel_lines(ref, [(str(tee), 2)], reason="x", idempotency_key="k1")
        assert err.value.code == "not_editable" and "1 unfulfilled" in err.value.message
        with pytest.raises(ShopRequestError) as err:
            await sb.client.cancel_lines(ref, [("999", 1)], reason="x", idempotency_key="k2")
        assert err.value.code == "unknown_line"
        assert sb.shop.order(ref)["note"] is None and "edits" not in sb.shop.order(ref)
        assert _lines(sb, order["id"]) == {tee: (2, 2, 1)}

        with pytest.raises(ShopRequestError) as err:
            await sb.client.cancel_lines("424242", [(str(tee), 1)], reason="x", idempotency_key="k")
        assert err.value.code == "not_found"
        sb.shop.cancel(ref)
        with pytest.raises(ShopRequestError) as err:
            await sb.client.cancel_lines(ref, [(str(tee), 1)], reason="x", idempotency_key="k3")
        assert err.value.code == "order_cancelled"


async def test_the_sandbox_answers_order_edits_with_user_errors() -> None:
    """What Shopify refuses inside an edit comes back as `userErrors`, which the client raises
    naming the mutation and the field."""
    async with shopify_sandbox() as sb, httpx.AsyncClient(base_url=sb.url) as http:
        auth = {"X-Shopify-Access-Token": sb.shop.access_token}
        order = sb.shop.place_order({"lines": [{"sku": "TSHIRT-M", "quantity": 2}]})
        tee = order["line_items"][0]["id"]
        await sb.client.fulfil(
            ShopFulfilment(str(order["id"]), "UPS", "1Z1", "u", lines=[(str(tee), 1)]),
            idempotency_key="s1",
        )

        async def run(document: str, **variables: Any) -> dict[str, Any]:
            answer = await http.post(
                PATH, json={"query": document, "variables": variables}, headers=auth
            )
            assert answer.status_code == 200
            return answer.json()["data"]  # type: ignore[no-any-return]

        begin = """mutation B($id: ID!) { orderEditBegin(id: $id) {
          calculatedOrder { id lineItems(first: 5) { nodes { id quantity editableQuantity } } }
          userErrors { field message } } }"""
        begun = (await run(begin, id=gid("Order", order["id"])))["orderEditBegin"]
        calculated = begun["calculatedOrder"]
        [line] = calculated["lineItems"]["nodes"]
        assert begun["userErrors"] == []
        assert line == {
            "id": f"gid://shopify/CalculatedLineItem/{tee}",
            "quantity": 2,
            "editableQuantity": 1,
        } | {k: v for k, v in line.items() if k not in ("id", "quantity", "editableQuantity")}

        async def set_quantity(line_item: str, quantity: int) -> dict[str, Any]:
            data = await run(
                ORDER_EDIT_SET_QUANTITY,
                id=calculated["id"],
                lineItemId=line_item,
                quantity=quantity,
            )
            return data["orderEditSetQuantity"]  # type: ignore[no-any-return]

        below = await set_quantity(line["id"], 0)  # one unit was fulfilled
        assert below["calculatedLineItem"] is None
        assert below["userErrors"][0]["field"] == ["quantity"]
        wrong_kind = await set_quantity(gid("LineItem", tee), 1)  # the order's, not the edit's
        assert wrong_kind["userErrors"][0]["field"] == ["lineItemId"]
        staged = await set_quantity(line["id"], 1)
        assert staged["userErrors"] == [] and staged["calculatedLineItem"]["quantity"] == 1
        outstanding = staged["calculatedOrder"]["totalOutstandingSet"]["shopMoney"]["amount"]
        assert outstanding == "-19.99"  # a refund owed to the customer
        assert sb.shop.order(order["id"])["line_items"][0]["current_quantity"] == 2  # not yet

        commit = """mutation C($id: ID!, $notifyCustomer: Boolean, $staffNote: String) {
          orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
            order { id } userErrors { field message } } }"""
        done = (await run(commit, id=calculated["id"], notifyCustomer=False, staffNote="x"))[
            "orderEditCommit"
        ]
        assert done["userErrors"] == [] and done["order"]["id"] == gid("Order", order["id"])
        assert sb.shop.order(order["id"])["line_items"][0]["current_quantity"] == 1
        again = (await run(commit, id=calculated["id"]))["orderEditCommit"]
        assert again["order"] is None and again["userErrors"][0]["field"] == ["id"]

        with pytest.raises(ShopRequestError) as err:
            await sb.client._mutate(
                ORDER_EDIT_SET_QUANTITY,
                {"id": calculated["id"], "lineItemId": line["id"], "quantity": 0},
                "orderEditSetQuantity",
            )
        assert err.value.message.startswith("orderEditSetQuantity: id: ")
