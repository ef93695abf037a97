"""The one factory for Temporal clients: API, worker, tests and replayer share its converter."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from config.codec import codec_from_spec
from config.settings import Settings


def data_converter(settings: Settings | None = None) -> DataConverter:
    """Pydantic models cross the Temporal boundary as JSON, encrypted when a key is configured.

    Without settings (or without `payload_key`) payloads are plain JSON, as recorded histories
    and the unencrypted test server expect.
    """
    secret = settings.payload_key if settings is not None else None
    codec = codec_from_spec(secret.get_secret_value() if secret is not None else None)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        # Failure messages and stack traces may quote customer data: move them into the
        # (encrypted) encoded attributes too.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings, address: str | None = None) -> Client:
    """Connect to the configured Temporal frontend and namespace."""
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
