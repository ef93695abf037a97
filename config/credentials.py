"""Channel credentials sealed at rest with the payload key (AES-256-GCM, `OMS_PAYLOAD_KEY`).

A sealed value is `kid:base64(nonce || ciphertext+tag)`; the associated data binds it to the
connection it belongs to, so a row's secret cannot be copied onto another connection. Every
key of the ring opens; the first seals, so rotating the payload key keeps old rows readable
(they are sealed again with the new key the next time they are written).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.codec import NONCE_BYTES, Keyring, ensure_payload_key
from config.settings import Settings


class CredentialsUnreadable(ValueError):
    """A sealed value cannot be opened: unknown key id, or tampered data."""


class CredentialBox:
    """Seals and opens one connection's credentials (a JSON object)."""

    def __init__(self, keyring: Keyring) -> None:
        self._current = keyring.current
        self._ciphers = {kid: AESGCM(key) for kid, key in keyring.keys.items()}

    def seal(self, credentials: dict[str, Any], context: str) -> str:
        """The credentials as a sealed string bound to `context` (the connection id)."""
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(credentials, separators=(",", ":"), sort_keys=True).encode()
        sealed = self._ciphers[self._current].encrypt(nonce, plain, _aad(self._current, context))
        return f"{self._current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str, context: str) -> dict[str, Any]:
        """The credentials sealed in `value` for `context`."""
        kid, _, data = value.partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise CredentialsUnreadable(f"sealed with key {kid!r}, which OMS_PAYLOAD_KEY lacks")
        try:
            raw = base64.b64decode(data, validate=True)
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(kid, context))
        except (binascii.Error, ValueError, InvalidTag):
            raise CredentialsUnreadable("sealed credentials failed authentication") from None
        opened: dict[str, Any] = json.loads(plain)
        return opened


def _aad(kid: str, context: str) -> bytes:
    return f"oms-credentials:{kid}:{context}".encode()


def credential_box(settings: Settings) -> CredentialBox:
    """The box for these settings: `OMS_PAYLOAD_KEY`, else the data dir's key file (what
    `oms up` creates), so one machine's API and worker agree without configuration."""
    if settings.payload_key is not None and settings.payload_key.get_secret_value().strip():
        spec = settings.payload_key.get_secret_value()
    else:
        spec = ensure_payload_key(Path(settings.data_dir))
    return CredentialBox(Keyring.parse(spec))
