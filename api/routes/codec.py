"""Codec server for the Temporal UI and CLI: `POST /codec/encode` and `POST /codec/decode`.

Follows Temporal's remote codec protocol: a JSON body `{"payloads": [...]}` whose payloads are
proto3 JSON (`metadata` values and `data` are base64). The UI calls it from the browser, so CORS
for the Temporal UI origin is set up in `api/middleware.py`; callers authenticate like any API
client (a Bearer key, e.g. `temporal workflow show --codec-auth "Bearer <key>"`, or the
dashboard session cookie when the UI is set to include cross-origin credentials).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

import structlog
from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload

from api.deps import SettingsDep, require
from api.errors import ApiError
from config.codec import EncryptionCodec, PayloadDecryptError, codec_from_spec

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/codec", tags=["codec"], dependencies=[Depends(require("orders:read"))])
# Large enough for one UI page of history; the body limit caps the request size anyway.
MAX_PAYLOADS = 10_000


class CodecPayload(BaseModel):
    """A payload in proto3 JSON form."""

    model_config = ConfigDict(extra="ignore")
    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class CodecBody(BaseModel):
    """Request and response body of the codec protocol."""

    payloads: list[CodecPayload] = Field(max_length=MAX_PAYLOADS)


@lru_cache(maxsize=4)
def _codec(spec: str | None) -> EncryptionCodec | None:
    # Keyed by the spec so a settings change (tests build many apps) gets its own codec.
    return codec_from_spec(spec)


def _b64(text: str, field: str) -> bytes:
    """proto3 JSON bytes: standard or URL-safe base64, padding optional."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_base64", "not valid base64", field=field) from None


def _to_proto(body: CodecBody) -> list[Payload]:
    return [
        Payload(
            metadata={k: _b64(v, f"payloads[{i}].metadata.{k}") for k, v in p.metadata.items()},
            data=_b64(p.data, f"payloads[{i}].data"),
        )
        for i, p in enumerate(body.payloads)
    ]


def _to_json(payloads: list[Payload]) -> CodecBody:
    def enc(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return CodecBody(
        payloads=[
            CodecPayload(metadata={k: enc(v) for k, v in p.metadata.items()}, data=enc(p.data))
            for p in payloads
        ]
    )


def _codec_for(settings: SettingsDep) -> EncryptionCodec | None:
    secret = settings.payload_key
    return _codec(secret.get_secret_value() if secret is not None else None)


@router.post("/encode", response_model=CodecBody)
async def encode(
    body: CodecBody,
    settings: SettingsDep,
    x_namespace: str | None = Header(default=None),
) -> CodecBody:
    """Encrypt payloads with the current key (unchanged when encryption is off)."""
    codec = _codec_for(settings)
    payloads = _to_proto(body)
    if codec is None:
        return _to_json(payloads)
    return _to_json(await codec.encode(payloads))


@router.post("/decode", response_model=CodecBody)
async def decode(
    body: CodecBody,
    settings: SettingsDep,
    x_namespace: str | None = Header(default=None),
) -> CodecBody:
    """Decrypt payloads; plaintext payloads come back unchanged."""
    codec = _codec_for(settings)
    payloads = _to_proto(body)
    if codec is None:
        return _to_json(payloads)
    decoded: list[Payload] = []
    for i, payload in enumerate(payloads):
        try:
            decoded.append(codec.decrypt(payload))
        except PayloadDecryptError as err:
            log.warning("codec decode refused", index=i, namespace=x_namespace, error=str(err))
            raise ApiError(422, "undecryptable", str(err), field=f"payloads[{i}]") from None
    return _to_json(decoded)
