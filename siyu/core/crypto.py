"""Encryption of personal data at rest (AES-256-GCM) and keyed hashes for exact lookup.

Both keys are derived from ``SIYU_SECRET_KEY`` with HKDF under distinct labels, so
the signing, encryption and lookup keys are independent. Ciphertexts carry a version
byte so that a key rotation can re-encrypt lazily.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE_BYTES = 12


def _derive(secret_key: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        secret_key.encode()
    )


class PiiCipher:
    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(_derive(secret_key, b"siyu.pii.encrypt.v1"))
        self._lookup_key = _derive(secret_key, b"siyu.pii.lookup.v1")

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """Encrypt; ``context`` (e.g. "phone") is bound as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str = "") -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        if raw[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, sealed, context.encode()).decode()

    def lookup_hash(self, value: str, *, context: str = "") -> str:
        """A keyed hash: equal inputs match, and without the key it reveals nothing."""
        message = context.encode() + b"\x00" + value.encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()
