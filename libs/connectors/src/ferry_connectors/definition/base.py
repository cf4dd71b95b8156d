"""What every part of a connector definition shares: it refuses unknown keys and is frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

NAME = r"^[a-z][a-z0-9_]{0,62}$"
MODEL_NAME = r"^[A-Z][A-Z0-9_]{0,63}$"


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
