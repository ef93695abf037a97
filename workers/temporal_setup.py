"""Namespace preparation for a Temporal server the OMS did not start itself."""

from __future__ import annotations

import re

import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

from workflows.search_attributes import REGISTRY

log = structlog.get_logger(__name__)


def _indexed_type(name: str) -> IndexedValueType.ValueType:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
    return IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{snake}")


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register the OMS search attributes that are missing; returns the names added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {k: v for k, v in REGISTRY.items() if k not in existing.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={k: _indexed_type(v) for k, v in missing.items()},
            )
        )
        log.info("search attributes registered", names=sorted(missing))
    return sorted(missing)
