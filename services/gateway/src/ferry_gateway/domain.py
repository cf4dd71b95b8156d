"""Project credentials: key formats and digests. No I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

SECRET_KEY_PREFIX = "fsk_"
PROJECT_ID = re.compile(r"proj_[0-9a-f]{16}")


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    signing_key: str = field(repr=False)  # secrets are never printed, even by accident
    created_at: datetime


@dataclass(frozen=True)
class NewProject:
    project: Project
    secret_key: str = field(repr=False)


def new_project_id() -> str:
    return "proj_" + secrets.token_hex(8)


def new_secret_key() -> str:
    return SECRET_KEY_PREFIX + secrets.token_urlsafe(32)


def new_signing_key() -> str:
    return "fsig_" + secrets.token_urlsafe(32)


def digest(secret_key: str) -> bytes:
    return hashlib.sha256(secret_key.encode()).digest()


def audience(public_host: str, project_id: str) -> str:
    return f"{public_host}/{project_id}"
