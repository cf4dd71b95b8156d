"""Tokens at rest: AES-256-GCM under a key id, the connection id as associated data.

A ciphertext is `<key id>:` + 12-byte nonce + ciphertext-and-tag. Several keys may be configured so
keys can rotate: new ciphertexts use the active key, old ones still decrypt under theirs. The
associated data binds a ciphertext to its connection: copied to another row, it does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeyConfigError(ValueError):
    """The key configuration is unusable; the message says how to fix it."""


class DecryptError(ValueError):
    pass


def parse_keys(spec: str) -> dict[str, bytes]:
    """`kid:<base64 32 bytes>[,kid2:...]` → {kid: key}."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not kid or ":" in kid:
            raise KeyConfigError(
                "FERRY_TOKEN_KEYS entries must look like 'kid:<base64 of 32 bytes>'")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError as e:
            raise KeyConfigError(f"FERRY_TOKEN_KEYS key {kid!r} is not base64") from e
        if len(key) != 32:
            raise KeyConfigError(
                f"FERRY_TOKEN_KEYS key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
        keys[kid] = key
    if not keys:
        raise KeyConfigError("FERRY_TOKEN_KEYS holds no key")
    return keys


class Cipher:
    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise KeyConfigError(
                f"FERRY_TOKEN_ACTIVE_KEY_ID {active_key_id!r} is not among FERRY_TOKEN_KEYS")
        self._keys = {kid: AESGCM(k) for kid, k in keys.items()}
        self._raw = keys
        self.active = active_key_id

    @classmethod
    def from_settings(cls, spec: str, active_key_id: str) -> Cipher:
        return cls(parse_keys(spec), active_key_id)

    def encrypt(self, plaintext: str, associated: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._keys[self.active].encrypt(nonce, plaintext.encode(), associated.encode())
        return self.active.encode() + b":" + nonce + sealed

    def decrypt(self, blob: bytes, associated: str) -> str:
        kid, sep, rest = bytes(blob).partition(b":")
        aead = self._keys.get(kid.decode(errors="replace")) if sep else None
        if aead is None or len(rest) < 12 + 16:
            raise DecryptError("ciphertext under an unknown key id")
        try:
            return aead.decrypt(rest[:12], rest[12:], associated.encode()).decode()
        except Exception as e:  # cryptography's InvalidTag: wrong key, wrong row or tampered
            raise DecryptError("ciphertext does not decrypt for this connection") from e

    def key_id_of(self, blob: bytes) -> str:
        return bytes(blob).partition(b":")[0].decode(errors="replace")

    def sign(self, message: str) -> str:
        """A URL-safe MAC under the active key, prefixed by its key id (connect links)."""
        return f"{self.active}.{self._mac(self.active, message)}"

    def verify(self, token: str, message: str) -> bool:
        kid, _, mac = token.partition(".")
        if kid not in self._raw or not mac:
            return False
        return hmac.compare_digest(mac, self._mac(kid, message))

    def _mac(self, kid: str, message: str) -> str:
        # A key derived for links, so a MAC never reveals anything about the encryption key.
        link_key = hmac.new(self._raw[kid], b"ferry connect link", hashlib.sha256).digest()
        digest = hmac.new(link_key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
