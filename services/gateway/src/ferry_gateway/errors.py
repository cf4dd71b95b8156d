"""The gateway's errors are the kit's one error model (`ferry_kit.errors`)."""

from ferry_kit.errors import ApiError, body, install

__all__ = ["ApiError", "body", "install"]
