"""The one factory for Temporal clients: API, worker, tests and replayer share its converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from config.settings import Settings


def data_converter() -> DataConverter:
    """Pydantic models cross the Temporal boundary as JSON."""
    return pydantic_data_converter


async def connect(settings: Settings, address: str | None = None) -> Client:
    """Connect to the configured Temporal frontend and namespace."""
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(),
    )
