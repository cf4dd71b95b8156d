"""Path parameters as the public API accepts them: each a pattern the OpenAPI spec shows.

Ids are matched against the shapes the services mint (`con_` + 32 hex, ...), so nothing a
caller sends can add or climb a segment of the internal URL built from it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

_HEX_ID = r"[0-9a-f]{32}"
# No leading dot: "." and ".." are never a name; the rest is URL-safe without escaping.
_NAME = r"^[A-Za-z0-9_~@:+=-][A-Za-z0-9._~@:+=-]{0,254}$"

ConnectionId = Annotated[str, Path(pattern=rf"^con_{_HEX_ID}$", max_length=36,
                                   examples=["con_0190c3a1e0c87b6a9f3e2d1c0b9a8f7e"])]
ProjectId = Annotated[str, Path(pattern=r"^proj_[0-9a-f]{16}$", max_length=21)]
JobId = Annotated[str, Path(pattern=rf"^job_{_HEX_ID}$", max_length=36)]
EndpointId = Annotated[str, Path(pattern=rf"^ep_{_HEX_ID}$", max_length=35)]
MessageId = Annotated[str, Path(pattern=rf"^msg_{_HEX_ID}$", max_length=36)]
UserId = Annotated[str, Path(pattern=_NAME, max_length=255,
                             description="Your own id of the end user (1-255 URL-safe characters)")]
# Providers choose record ids: anything but control characters, a slash or a leading dot.
RecordId = Annotated[str, Path(pattern=r"^[^\x00-\x1f\x7f/.][^\x00-\x1f\x7f/]{0,254}$",
                               max_length=255, description="The provider's record id")]
DataModel = Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$", max_length=64,
                                description="A data model name such as CONTACTS (any case)")]
ProviderName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$", max_length=63,
                                   description="A provider's name, as GET /v1/providers lists it")]
