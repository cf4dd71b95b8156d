"""Records service settings (FERRY_ prefix)."""

from __future__ import annotations

from ferry_kit.settings import KitSettings
from pydantic import Field


class Settings(KitSettings):
    # A complete full sync that would delete more than this share of a model's live records
    # holds the deletions until the customer confirms them.
    records_mass_delete_threshold: float = Field(0.5, gt=0, le=1)
    # Below this many deletions the guard holds only a deletion of every live record (a model of
    # 3 records losing 2 is normal; losing all 3 at once is held).
    records_mass_delete_min: int = Field(10, ge=0)
    # Pages (each up to a thousand records) taken from the broker at once.
    records_max_pages: int = Field(20, ge=1)
