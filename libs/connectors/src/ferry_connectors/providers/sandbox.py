"""Ferry's sandbox provider: OAuth 2.0 with PKCE, cursor pages, `updated_since`, write-back."""

from __future__ import annotations

from ..sdk import DataModel, Provider

MODELS = ("contacts", "invoices", "files")


def _model(path: str) -> DataModel:
    return DataModel(
        name=path.upper(),
        path=f"/api/{path}",
        read_scopes=(f"{path}.read",),
        write_scopes=(f"{path}.write",),
    )


SANDBOX = Provider(
    name="sandbox",
    display_name="Sandbox (OAuth 2.0)",
    auth_type="oauth2",
    data_models=tuple(_model(m) for m in MODELS),
    min_sync_interval_minutes=5,
    base_url_setting="sandbox_url",
)

# The same API without authorization: connects at once; the account is the connection id.
SANDBOX_NOAUTH = Provider(
    name="sandbox_noauth",
    display_name="Sandbox (no auth)",
    auth_type="none",
    unique=True,
    data_models=tuple(_model(m) for m in MODELS),
    min_sync_interval_minutes=1,
    base_url_setting="sandbox_url",
    static_token="static:{connection_id}",
)
