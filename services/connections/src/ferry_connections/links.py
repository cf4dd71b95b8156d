"""Connect links (`redirect_url`): signed with their expiry, since links leak (mail, chat,
history); each works for `connect_link_ttl_seconds` only."""

from __future__ import annotations

from datetime import UTC, datetime

from .crypto import Cipher
from .settings import Settings


class Links:
    def __init__(self, cipher: Cipher, settings: Settings) -> None:
        self._cipher = cipher
        self._base = settings.public_url.rstrip("/")
        self._ttl = settings.connect_link_ttl_seconds

    def redirect_url(self, connection_id: str, now: datetime) -> str:
        """A connect link, signed with its expiry (`t=<unix time>.<MAC>`)."""
        expires = int(now.timestamp()) + self._ttl
        token = f"{expires}.{self._cipher.sign(f'{connection_id}.{expires}')}"
        return f"{self._base}/connect/{connection_id}?t={token}"

    def expiry(self, token: str, connection_id: str) -> datetime | None:
        """When a connect link expires; None when it is not one signed for this connection."""
        expires, _, mac = token.partition(".")
        if not self._cipher.verify(mac, f"{connection_id}.{expires}"):
            return None
        return datetime.fromtimestamp(int(expires), UTC)  # signed by us: digits
