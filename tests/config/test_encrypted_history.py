"""With a payload key, Temporal stores no customer data in clear; the codec server reveals it."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

from temporalio.client import Client

from tests.conftest import Stack, canonical_order, temporal_path
from workflows.order.context import LOCAL_DB_STEPS, RECOMPOSED
from workflows.order.shop import SHOP_LOOP

PII = ("ann@example.com", "1 Main St", "+15125550100")
LOCAL_ACTIVITY_MARKER = ".events[].markerRecordedEventAttributes.details.data.payloads[]"
PATCH_MARKER = ".events[].markerRecordedEventAttributes.details.patch-data.payloads[]"


def payloads_in(node: Any, path: str = "") -> Iterator[dict[str, Any]]:
    """Every proto3-JSON payload (an object with `metadata` and `data`) in a history.

    Search attributes are left out: the server indexes them, so they are never encoded (and
    ours carry no personal data: status, channel, location).
    """
    if isinstance(node, dict):
        if isinstance(node.get("metadata"), dict) and isinstance(node.get("data"), str):
            yield {**node, "path": path}
        for key, value in node.items():
            if key not in ("searchAttributes", "upsertWorkflowSearchAttributesEventAttributes"):
                yield from payloads_in(value, f"{path}.{key}")
    elif isinstance(node, list):
        for value in node:
            yield from payloads_in(value, path + "[]")


async def workflow_show(client: Client, workflow_id: str) -> str:
    """`temporal workflow show --output json` against the test server, as an operator runs it."""
    proc = await asyncio.create_subprocess_exec(
        temporal_path(),
        "workflow",
        "show",
        "--output",
        "json",
        "--workflow-id",
        workflow_id,
        "--address",
        client.service_client.config.target_host,
        "--namespace",
        client.namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_history_holds_no_pii_in_clear_and_the_codec_server_decodes_it(
    encrypted_stack: Stack,
) -> None:
    accepted = await encrypted_stack.post("/v1/orders", canonical_order())
    assert accepted.status_code == 202, accepted.text
    order_id, workflow_id = accepted.json()["order_id"], accepted.json()["workflow_id"]
    await encrypted_stack.wait_for(order_id, "completed")

    shown = await workflow_show(encrypted_stack.client, workflow_id)
    history = json.loads(shown)
    found = list(payloads_in(history))
    assert found, "no payloads in the history"
    raw = [base64.b64decode(p["data"]) for p in found]
    for secret in PII:
        assert secret not in shown, f"{secret!r} in clear in the history"
        assert not any(secret.encode() in data for data in raw), f"{secret!r} in a payload"
    plain = {
        p["path"]
        for p in found
        if base64.b64decode(p["metadata"]["encoding"]) != b"binary/encrypted"
    }
    # The SDK writes its own bookkeeping in clear: local-activity sequence, attempt and times,
    # and the ids of `workflow.patched` changes.
    assert plain <= {LOCAL_ACTIVITY_MARKER, PATCH_MARKER}, plain
    patches = [json.loads(base64.b64decode(p["data"])) for p in found if p["path"] == PATCH_MARKER]
    assert {patch["id"] for patch in patches} <= {LOCAL_DB_STEPS, RECOMPOSED, SHOP_LOOP}, patches

    wire = [{"metadata": p["metadata"], "data": p["data"]} for p in found]
    decoded = await encrypted_stack.post("/codec/decode", {"payloads": wire})
    assert decoded.status_code == 200, decoded.text
    clear = b"".join(base64.b64decode(p["data"]) for p in decoded.json()["payloads"])
    for secret in PII:
        assert secret.encode() in clear, f"{secret!r} not recovered by the codec server"
