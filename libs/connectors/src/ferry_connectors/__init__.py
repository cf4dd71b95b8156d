"""Ferry's connector SDK and the connectors it ships."""

from .registry import all_providers, get_provider
from .sdk import (
    AccessDenied,
    AuthExpired,
    ConnectorClient,
    ConnectorError,
    CursorPagination,
    DataModel,
    Page,
    Provider,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)

__all__ = [
    "AccessDenied", "AuthExpired", "ConnectorClient", "ConnectorError", "CursorPagination",
    "DataModel", "Page", "Provider", "ProviderError", "ProviderUnavailable", "RateLimited",
    "all_providers", "get_provider",
]
