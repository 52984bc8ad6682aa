"""Keys kept in the data directory (never in the database) and what we do with them."""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "keys/secret.key"


class CryptoError(Exception):
    pass


def load_or_create_key(data_dir: Path) -> bytes:
    """The appliance's 256-bit master key; created with mode 0600 on first use."""
    path = data_dir / KEY_FILE
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise CryptoError(f"{path} is damaged: expected 32 bytes, found {len(key)}")
        return key
    key = secrets.token_bytes(32)
    write_private(path, key)
    return key


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by the owner only, atomically: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Keyring:
    """Derives purpose-specific subkeys so one leaked use cannot unlock another."""

    def __init__(self, master: bytes) -> None:
        self._master = master
        self._subkeys: dict[str, bytes] = {}  # every agent check-in needs one: derived once per purpose

    def subkey(self, purpose: str) -> bytes:
        key = self._subkeys.get(purpose)
        if key is None:
            key = self._subkeys[purpose] = hmac.digest(self._master, purpose.encode(), "sha256")
        return key

    def encrypt(self, plaintext: bytes, *, purpose: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.subkey(purpose)).encrypt(nonce, plaintext, context.encode())
        return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, purpose: str, context: str) -> bytes:
        if not token.startswith("v1:"):
            raise CryptoError("unknown ciphertext format")
        raw = base64.urlsafe_b64decode(token[3:])
        try:
            return AESGCM(self.subkey(purpose)).decrypt(raw[:12], raw[12:], context.encode())
        except Exception:
            raise CryptoError("ciphertext does not decrypt with this appliance's key") from None

    def mac(self, value: str, *, purpose: str) -> str:
        """Keyed hash for high-entropy secrets we only compare (tokens, backup codes)."""
        return hmac.digest(self.subkey(purpose), value.encode(), "sha256").hex()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
