"""Fuzz the OpenAPI surface with schemathesis: no 5xx, and every 422 names its fields.

Cases are generated from the app's own schema (valid and invalid data), then sent in-process
through the same event loop as the rest of the stack.
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.conftest import Stack

MAX_EXAMPLES = 25
# Served by FastAPI itself (docs) or by other tests (metrics scraping is not an API).
SKIP = {"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}


def generate(operation: Any, mode: GenerationMode) -> list[Any]:
    """Up to MAX_EXAMPLES cases of one operation."""
    cases: list[Any] = []

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters)
        pass
    return cases


def request_kwargs(case: Any, auth: dict[str, str]) -> dict[str, Any]:
    """httpx arguments for a case (schemathesis speaks `requests`)."""
    kwargs = case.as_transport_kwargs(base_url="http://oms.test")
    headers = {**(kwargs.get("headers") or {}), **auth}
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "params": kwargs.get("params"),
        "headers": headers,
    }
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        out["content"] = data.encode() if isinstance(data, str) else data
    return out


def problems(case: Any, response: httpx.Response) -> list[str]:
    """What is wrong with one answer."""
    label = f"{case.method} {case.formatted_path} -> {response.status_code}"
    if response.status_code >= 500:
        return [f"{label}: {response.text[:300]}"]
    if response.status_code == 422:
        body = response.json()
        detail = body.get("detail")
        if not detail or not all(d.get("field") and d.get("message") for d in detail):
            return [f"{label}: 422 without field details: {body}"]
    if 400 <= response.status_code < 500 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        body = response.json()
        if not isinstance(body, dict) or not body.get("message"):
            return [f"{label}: 4xx without a message: {body}"]
    return []


async def test_openapi_fuzz_no_server_errors(no_rate_limit: None, api_stack: Stack) -> None:
    schema = schemathesis.openapi.from_dict(api_stack.app.openapi())  # type: ignore[attr-defined]
    auth = api_stack.headers()
    found: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        if operation.path in SKIP:
            continue
        cases = [
            c
            for m in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for c in generate(operation, m)
        ]
        for case in cases:
            try:
                response = await api_stack.http.request(**request_kwargs(case, auth))
            except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
                continue  # not representable on the wire; no server would see it
            sent += 1
            found += problems(case, response)
            if response.status_code >= 500:
                break  # one crash per operation is enough to report; more only cost time
    assert sent > 100
    assert not found, "\n".join(sorted(set(found))[:40])
