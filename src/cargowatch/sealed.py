"""Secrets cargowatch must use again, not only check (a partner's shared signing secret, the
password of a TAXII server it pulls): sealed with Fernet (AES-128-CBC and HMAC-SHA256, from
`cryptography`) under a key derived from the installation's secret key and the purpose, so
the store alone does not give them away. Secrets that are only checked (passwords, API
tokens) are hashed instead, elsewhere."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from cargowatch.config import get_settings
from cargowatch.exceptions import InvalidInput


def _fernet(purpose: str) -> Fernet:
    key = hashlib.sha256(f"{purpose}:{get_settings().session_key()}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(purpose: str, secret: bytes) -> str:
    """secret sealed for purpose, as text to store."""
    return _fernet(purpose).encrypt(secret).decode()


def unseal(purpose: str, sealed: str) -> bytes:
    """The secret back; InvalidInput when this installation's key does not open it."""
    try:
        return _fernet(purpose).decrypt(sealed.encode())
    except InvalidToken:
        raise InvalidInput(
            f"a stored {purpose} secret cannot be opened with this installation's key: set it again"
        ) from None
