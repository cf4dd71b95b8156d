"""Ferry's internal HTTP API, typed: the request and response models of the routes the gateway
calls, and one client per service.

The clients speak through a `Transport` that the caller provides (the gateway's is httpx), so
these contracts stay free of any HTTP library. Every URL is built by `path`: one
percent-encoded segment per piece, never empty, `.` or `..`.
"""

from .base import IsoTime, Reply, Transport, UnsafePath, path

__all__ = ["IsoTime", "Reply", "Transport", "UnsafePath", "path"]
