"""Ferry's connectors: provider definitions (YAML, parsed into `definition`) and their client."""

from .client import ConnectorClient, Page, record_id
from .definition import Definition
from .errors import (
    AccessDenied,
    AuthExpired,
    ConnectorError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from .registry import (
    all_definitions,
    all_providers,
    get_definition,
    get_provider,
    hook_of,
)
from .sdk import DataModel, Provider

__all__ = [
    "AccessDenied", "AuthExpired", "ConnectorClient", "ConnectorError", "DataModel", "Definition",
    "Page", "Provider", "ProviderError", "ProviderUnavailable", "RateLimited", "all_definitions",
    "all_providers", "get_definition", "get_provider", "hook_of", "record_id",
]
