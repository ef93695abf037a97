"""Payload encryption: an AES-256-GCM `PayloadCodec` with a rotating keyring.

`OMS_PAYLOAD_KEY` holds one or more comma-separated keys, each either `base64key` or
`kid:base64key` (32 random bytes, standard or URL-safe base64). The first key encrypts; every key
decrypts, so rotation is: prepend the new key, keep the old ones until their histories are gone.
A key without a `kid:` label is named by its fingerprint, so `NEW,OLD` rotates without labels.

Encrypted payloads carry `encoding: binary/encrypted` and `encryption-key-id: <kid>`; the data is
`nonce (12 bytes) || ciphertext+tag` of the serialized original payload, with the key id as
associated data so a payload cannot be re-labelled to another key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
KEY_FILE = "payload.key"
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PayloadKeyError(ValueError):
    """The configured key material is unusable; the message says why (never the key)."""


class PayloadDecryptError(ValueError):
    """A payload cannot be decrypted: unknown key id, or tampered/corrupt data."""


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional (as proto3 JSON and humans write it)."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    return base64.b64decode(cleaned, validate=True)


def fingerprint(key: bytes) -> str:
    """A stable, non-secret name for key material (first 8 hex digits of its SHA-256)."""
    return "k" + hashlib.sha256(key).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    """The current key (encrypts) and every accepted key by id (decrypts)."""

    current: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Parse `OMS_PAYLOAD_KEY`: `[kid:]base64key[,[kid:]base64key...]`, first is current."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for position, entry in enumerate(p.strip() for p in spec.split(",")):
            if not entry:
                continue
            kid, sep, material = entry.partition(":")
            if not sep:
                kid, material = "", entry
            try:
                key = _b64decode(material)
            except (binascii.Error, ValueError):
                raise PayloadKeyError(f"OMS_PAYLOAD_KEY entry {position + 1}: not base64") from None
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(
                    f"OMS_PAYLOAD_KEY entry {position + 1}: {len(key)} bytes, need {KEY_BYTES}"
                )
            kid = kid or fingerprint(key)
            if not _KID.match(kid):
                raise PayloadKeyError(f"OMS_PAYLOAD_KEY entry {position + 1}: bad key id {kid!r}")
            if kid in keys:
                raise PayloadKeyError(f"OMS_PAYLOAD_KEY: key id {kid!r} appears twice")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise PayloadKeyError("OMS_PAYLOAD_KEY is set but holds no key")
        return cls(current=order[0], keys=keys)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; plaintext (pre-encryption) payloads decode unchanged."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._ciphers = {kid: AESGCM(key) for kid, key in keyring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload with the current key."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt each encrypted payload with the key its metadata names."""
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, encrypted with the current key."""
        kid = self.keyring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_META: kid.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        """One payload, decrypted; payloads that are not ours pass through."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID_META, b"").decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise PayloadDecryptError(f"no payload key with id {kid!r} (add it to OMS_PAYLOAD_KEY)")
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptError(f"payload too short to be encrypted (key id {kid!r})")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, kid.encode())
        except InvalidTag:
            raise PayloadDecryptError(f"payload failed authentication (key id {kid!r})") from None
        return Payload.FromString(plain)


def codec_from_spec(spec: str | None) -> EncryptionCodec | None:
    """The codec for an `OMS_PAYLOAD_KEY` value, or None when encryption is off."""
    if not spec or not spec.strip():
        return None
    return EncryptionCodec(Keyring.parse(spec))


def generate_key() -> str:
    """A fresh key entry for `OMS_PAYLOAD_KEY` (standard base64 of 32 random bytes)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def ensure_payload_key(data_dir: Path) -> str:
    """The key spec persisted in `data_dir/payload.key`, created (mode 0600) on first use.

    `oms up` calls this when OMS_PAYLOAD_KEY is unset, so local histories are always encrypted
    and survive restarts: losing this file makes the data dir's histories unreadable.
    """
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two concurrent starts cannot both write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        spec = path.read_text().strip()
        Keyring.parse(spec)  # fail now, clearly, rather than on the first workflow task
        return spec
    spec = generate_key()
    with os.fdopen(fd, "w") as out:
        out.write(spec + "\n")
    return spec
