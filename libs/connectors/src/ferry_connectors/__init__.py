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
    get_definition,
    hook_of,
)

__all__ = [
    "AccessDenied", "AuthExpired", "ConnectorClient", "ConnectorError", "Definition",
    "Page", "ProviderError", "ProviderUnavailable", "RateLimited", "all_definitions",
    "get_definition", "hook_of", "record_id",
]
