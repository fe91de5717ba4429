"""Everything a sandbox run can be told: credentials, limits, windows. Plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SandboxConfig"]


@dataclass
class SandboxConfig:
    """Credentials the sandbox accepts and the limits it enforces (defaults as the real APIs)."""

    # Salesforce connected app and integration user
    sf_client_id: str = "sandbox-client-id"
    sf_client_secret: str = "sandbox-client-secret"
    sf_username: str = "integration@sandbox.example.com"
    sf_password: str = "sandbox-password"
    sf_refresh_token: str = "sandbox-refresh-token"
    sf_jwt_public_key_pem: str | None = None
    sf_org_id: str = "00D5g000000SANDBOX"
    sf_user_id: str = "0055g000000SANDBOX"
    sf_session_seconds: float = 7200.0
    sf_daily_api_max: int = 1_000_000
    sf_daily_bulk_query_jobs_max: int = 10_000
    sf_query_page_size: int = 2000
    # Bulk API 2.0 jobs answer InProgress to this many polls, plus one for every
    # `sf_bulk_records_per_poll` records they hold, before they finish
    sf_bulk_polls_before_complete: int = 1
    sf_bulk_records_per_poll: int = 10_000
    sf_min_api_version: float = 31.0
    sf_max_api_version: float = 62.0
    # HubSpot private app
    hs_access_token: str = "pat-sandbox-0000-0000-0000-000000000000"
    hs_portal_id: int = 62515
    hs_app_id: int = 54321
    hs_client_secret: str = "sandbox-hubspot-client-secret"
    # HubSpot OAuth app: POST /oauth/v1/token swaps the refresh token for 30-minute tokens
    hs_client_id: str = "sandbox-hubspot-client-id"
    hs_refresh_token: str = "sandbox-hubspot-refresh-token"
    hs_oauth_token_seconds: float = 1800.0
    hs_rotate_refresh_tokens: bool = False
    hs_scopes: tuple[str, ...] | None = None  # granted to every token; None: all of them
    hs_ten_second_max: int = 190
    hs_ten_second_window: float = 10.0
    hs_search_per_second: int | None = 5
    hs_daily_max: int = 1_000_000
    hs_search_result_cap: int = 10_000
    # search filters: groups, filters per group, filters in all (HubSpot's current reference)
    hs_search_max_filter_groups: int = 5
    hs_search_max_filters_per_group: int = 6
    hs_search_max_filters: int = 18
    # Webhooks (HubSpot v3 signatures)
    webhook_url: str | None = None
    webhook_batch_size: int = 100
    # misc
    extra: dict[str, str] = field(default_factory=dict)

    def bulk_polls(self, records: int) -> int:
        """The InProgress polls a Bulk job of `records` records answers before it finishes."""
        return self.sf_bulk_polls_before_complete + records // max(1, self.sf_bulk_records_per_poll)
