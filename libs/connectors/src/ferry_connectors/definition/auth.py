"""How a connector authenticates: OAuth 2.0, client credentials, API keys, Basic, or none."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Part


class TokenResponse(Part):
    """Where the token endpoint's answer keeps each value (dotted paths into its JSON)."""

    access_token: str = "access_token"
    refresh_token: str = "refresh_token"
    expires_in: str | None = Field("expires_in", description="null: tokens never expire")
    scope: str | None = "scope"
    default_expires_in: int | None = Field(
        None, ge=1, description="seconds, when the answer has no expires_in (null: never)")


class Capture(Part):
    """A connection config value captured during auth (`instance_url`, `realmId`...)."""

    field: str = Field(description="the connection_config field it fills")
    source: Literal["token_response", "callback_query"]
    path: str = Field(description="dotted path in the token response, or the query parameter")


class InvalidGrant(Part):
    """A token endpoint's own words for RFC 6749's `invalid_grant` (HubSpot answers
    `{"status": "BAD_REFRESH_TOKEN"}`): the end user must connect again."""

    path: str = Field(description="dotted path in the token endpoint's error answer")
    values: list[str] = Field(min_length=1)


class OAuth2Auth(Part):
    """OAuth 2.0 authorization code (RFC 6749 4.1), with the provider app of each project."""

    type: Literal["oauth2"]
    authorize_url: str = Field(description="template")
    token_url: str = Field(description="template")
    scope_separator: str = " "
    scope_param: str = "scope"
    pkce: bool = True
    client_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    authorize_params: dict[str, str] = Field(default_factory=dict)
    token_params: dict[str, str] = Field(default_factory=dict)
    token_response: TokenResponse = Field(default_factory=TokenResponse)
    capture: list[Capture] = Field(default_factory=list)
    refresh: bool = Field(True, description="false: tokens cannot be refreshed")
    rotates_refresh_token: bool = Field(False, description="a refresh answers a new refresh token")
    invalid_grant: InvalidGrant | None = Field(
        None, description="how a refused grant is said, when not as `error: invalid_grant`")
    header: dict[str, str] = Field(
        default_factory=lambda: {"Authorization": "Bearer {access_token}"},
        description="how the access token is sent (template with {access_token})")


class ClientCredentialsAuth(Part):
    """OAuth 2.0 client credentials (RFC 6749 4.4): the project's app is the only party."""

    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="template")
    scope_separator: str = " "
    client_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    token_params: dict[str, str] = Field(default_factory=dict)
    token_response: TokenResponse = Field(default_factory=TokenResponse)
    header: dict[str, str] = Field(
        default_factory=lambda: {"Authorization": "Bearer {access_token}"})


class ApiKeyAuth(Part):
    """A key the end user (or the customer, at creation) gives: sent in headers or the query."""

    type: Literal["api_key"]
    header: dict[str, str] = Field(
        default_factory=dict, description="e.g. {Authorization: 'Bearer {api_key}'}")
    query: dict[str, str] = Field(default_factory=dict, description="e.g. {api_key: '{api_key}'}")
    label: str = Field("API key", description="what the connect page's form calls it")
    help: str | None = Field(None, description="where the end user finds the key")

    @model_validator(mode="after")
    def _sent_somewhere(self) -> ApiKeyAuth:
        if not self.header and not self.query:
            raise ValueError("an api_key auth needs `header` or `query`")
        return self


class BasicAuth(Part):
    """HTTP Basic (RFC 7617) with a username and password the end user gives."""

    type: Literal["basic"]
    username_label: str = "Username"
    password_label: str = "Password"
    help: str | None = None


class NoAuth(Part):
    type: Literal["none"]
    header: dict[str, str] = Field(
        default_factory=dict, description="static headers; template with {connection_id}")


Auth = Annotated[
    OAuth2Auth | ClientCredentialsAuth | ApiKeyAuth | BasicAuth | NoAuth,
    Field(discriminator="type"),
]


class Verify(Part):
    """A request that proves given credentials work before the connection is CONNECTED."""

    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="template, relative to base_url")

