"""Payload encryption: roundtrip, rotation, tamper detection, key files, the codec server."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload

from config.codec import (
    ENCODING,
    KEY_ID_META,
    EncryptionCodec,
    Keyring,
    PayloadDecryptError,
    PayloadKeyError,
    codec_from_spec,
    ensure_payload_key,
    fingerprint,
)
from config.settings import Settings
from config.temporal import data_converter
from tests.conftest import ADMIN_KEY, Stack, new_payload_key


def plain(text: str) -> Payload:
    """A JSON payload as the pydantic converter writes it."""
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


def codec(spec: str) -> EncryptionCodec:
    """A codec for a key spec (never None here)."""
    made = codec_from_spec(spec)
    assert made is not None
    return made


async def test_roundtrip_hides_the_data_and_restores_it() -> None:
    c = codec(new_payload_key())
    original = plain('{"email": "ann@example.com"}')
    [sealed] = await c.encode([original])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_META] == c.keyring.current.encode()
    assert b"ann@example.com" not in sealed.SerializeToString()
    assert await c.decode([sealed]) == [original]
    # Fresh nonces: the same payload never encrypts to the same bytes.
    assert (await c.encode([original]))[0].data != sealed.data


async def test_plaintext_payloads_from_before_encryption_still_decode() -> None:
    original = plain('"hello"')
    assert await codec(new_payload_key()).decode([original]) == [original]


async def test_rotation_decrypts_old_payloads_and_encrypts_with_the_new_key() -> None:
    old, new = new_payload_key(), new_payload_key()
    [sealed_old] = await codec(f"old:{old}").encode([plain("1")])
    rotated = codec(f"new:{new},old:{old}")
    assert rotated.keyring.current == "new"
    assert await rotated.decode([sealed_old]) == [plain("1")]
    [sealed_new] = await rotated.encode([plain("2")])
    assert sealed_new.metadata[KEY_ID_META] == b"new"
    # Unlabelled keys are named by fingerprint, so `NEW,OLD` rotates without labels too.
    [bare] = await codec(old).encode([plain("3")])
    assert await codec(f"{new},{old}").decode([bare]) == [plain("3")]
    with pytest.raises(PayloadDecryptError, match="no payload key"):
        await codec(f"new:{new}").decode([sealed_old])


async def test_tampering_is_detected() -> None:
    c = codec(f"a:{new_payload_key()},b:{new_payload_key()}")
    [sealed] = await c.encode([plain('{"total": "10.00"}')])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptError, match="authentication"):
        await c.decode([flipped])
    # The key id is authenticated: relabelling a payload to another known key fails.
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[KEY_ID_META] = b"b"
    with pytest.raises(PayloadDecryptError):
        await c.decode([relabelled])
    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:5])
    with pytest.raises(PayloadDecryptError, match="too short"):
        await c.decode([truncated])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("not base64!", "not base64"),
        (base64.b64encode(b"short").decode(), "need 32"),
        (f"bad id:{base64.b64encode(os.urandom(32)).decode()}", "bad key id"),
        (" , ", "holds no key"),
    ],
)
def test_bad_key_material_is_refused_without_echoing_it(spec: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message) as caught:
        Keyring.parse(spec)
    if len(spec) > 8:
        assert spec not in str(caught.value)


def test_duplicate_key_ids_are_refused() -> None:
    key = new_payload_key()
    with pytest.raises(PayloadKeyError, match="twice"):
        Keyring.parse(f"{key},{key}")


def test_url_safe_unpadded_keys_are_accepted() -> None:
    raw = os.urandom(32)
    ring = Keyring.parse(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    assert ring.keys == {fingerprint(raw): raw}


def test_ensure_payload_key_creates_a_private_file_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first = ensure_payload_key(data_dir)
    assert Keyring.parse(first)
    path = data_dir / "payload.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_payload_key(data_dir) == first
    path.write_text("garbage")
    with pytest.raises(PayloadKeyError):
        ensure_payload_key(data_dir)


async def test_data_converter_encrypts_only_when_a_key_is_configured() -> None:
    assert data_converter().payload_codec is None
    assert data_converter(Settings()).payload_codec is None
    converter = data_converter(Settings(payload_key=SecretStr(new_payload_key())))
    assert isinstance(converter.payload_codec, EncryptionCodec)
    [payload] = await converter.encode([{"email": "ann@example.com"}])
    assert b"ann@example.com" not in payload.data
    assert await converter.decode([payload], [dict]) == [{"email": "ann@example.com"}]


# ---- the codec server ----------------------------------------------------------------------


def as_json(payload: Payload) -> dict[str, object]:
    """proto3 JSON of a payload, as the Temporal UI sends it."""

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return {"metadata": {k: b64(v) for k, v in payload.metadata.items()}, "data": b64(payload.data)}


def from_json(item: dict[str, object]) -> Payload:
    """A payload from proto3 JSON."""
    metadata = item["metadata"]
    assert isinstance(metadata, dict) and isinstance(item["data"], str)
    return Payload(
        metadata={k: base64.b64decode(v) for k, v in metadata.items()},
        data=base64.b64decode(item["data"]),
    )


async def test_codec_server_encodes_and_decodes(encrypted_stack: Stack, payload_key: str) -> None:
    original = plain('{"email": "ann@example.com"}')
    encoded = await encrypted_stack.post("/codec/encode", {"payloads": [as_json(original)]})
    assert encoded.status_code == 200, encoded.text
    sealed = from_json(encoded.json()["payloads"][0])
    assert sealed.metadata["encoding"] == ENCODING
    # What the server encrypted, the workers' codec decrypts, and back.
    assert await codec(payload_key).decode([sealed]) == [original]
    decoded = await encrypted_stack.post(
        "/codec/decode", {"payloads": [encoded.json()["payloads"][0], as_json(original)]}
    )
    assert decoded.status_code == 200, decoded.text
    assert [from_json(p) for p in decoded.json()["payloads"]] == [original, original]


async def test_codec_server_names_the_payload_it_cannot_decode(encrypted_stack: Stack) -> None:
    [foreign] = await codec(new_payload_key()).encode([plain("1")])
    response = await encrypted_stack.post(
        "/codec/decode", {"payloads": [as_json(plain("2")), as_json(foreign)]}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "payloads[1]"
    bad = await encrypted_stack.post("/codec/decode", {"payloads": [{"data": "%%%"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "payloads[0].data"


async def test_codec_server_requires_a_key_that_may_read_orders(
    api_stack: Stack, role_keys: dict[str, str]
) -> None:
    body = {"payloads": [as_json(plain("1"))]}
    assert (await api_stack.http.post("/codec/decode", json=body)).status_code == 401
    assert (
        await api_stack.post("/codec/decode", body, key=role_keys["channel"])
    ).status_code == 403
    assert (await api_stack.post("/codec/decode", body, key=role_keys["ops"])).status_code == 200


async def test_cors_preflight_allows_only_the_temporal_ui(api_stack: Stack) -> None:
    ui = api_stack.settings.temporal_ui_url
    preflight = {
        "Origin": ui,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    ok = await api_stack.http.options("/codec/decode", headers=preflight)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ui
    assert ok.headers["access-control-allow-credentials"] == "true"
    allowed = ok.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-namespace"} <= {
        h.strip() for h in allowed.split(",")
    }
    # Browsers treat localhost and 127.0.0.1 as different origins; both reach the UI.
    alias = ui.replace("127.0.0.1", "localhost")
    alias_ok = await api_stack.http.options("/codec/decode", headers={**preflight, "Origin": alias})
    assert alias_ok.headers.get("access-control-allow-origin") == alias

    evil = await api_stack.http.options(
        "/codec/decode", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert evil.status_code == 400
    assert "access-control-allow-origin" not in evil.headers
    actual = await api_stack.http.post(
        "/codec/decode",
        json={"payloads": []},
        headers={"Origin": ui, "X-Namespace": "default", "Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert actual.status_code == 200 and actual.headers["access-control-allow-origin"] == ui
    # Only the codec server speaks CORS: the rest of the API is not callable from other sites.
    other = await api_stack.http.options("/v1/orders", headers=preflight)
    assert "access-control-allow-origin" not in other.headers
