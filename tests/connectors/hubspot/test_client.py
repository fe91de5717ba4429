"""The HubSpot client: every call counted, faults retried or reported, tokens refreshed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from connectors.core import ApiBudget, AuthenticationError, MissingPermission, QuotaReached
from connectors.hubspot import HubSpotAuth, HubSpotClient
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.faults import Fault
from tests.connectors.hubspot.harness import FAST_RETRY

SEARCH = {
    "filterGroups": [
        {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}
    ],
    "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
    "limit": 10,
}


def client_for(server: SandboxServer, budget: ApiBudget, **auth: str) -> HubSpotClient:
    info = server.connection_info()["hubspot"]
    credentials = auth or {"access_token": info["access_token"]}
    return HubSpotClient(info["base_url"], HubSpotAuth(**credentials), budget, retry=FAST_RETRY)


def test_every_call_is_counted_with_its_bytes_and_the_daily_quota(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    budget = ApiBudget()
    client = client_for(server, budget)
    page = client.list_page("emails", limit=5)
    assert len(page["results"]) == 5
    client.search("emails", SEARCH)
    assert budget.calls == 2 and budget.bytes_received > 500
    assert budget.quota_limit == sandbox.config.hs_daily_max
    assert budget.quota_used == 1  # searches carry no rate headers; the list said 1 used
    assert client.pacers["api"].limit == sandbox.config.hs_ten_second_max


@pytest.mark.parametrize(
    ("kind", "retry_after"),
    [
        ("rate_limit", 0.01),
        ("rate_limit", None),  # no Retry-After: a share of the 10-second window
        ("server_error", None),
        ("unavailable", 0.01),
        ("reset", None),
        ("slow", None),
    ],
)
@pytest.mark.parametrize("endpoint", ["list", "search"])
def test_transient_faults_are_retried_on_gets_and_posts(
    sandbox: Sandbox, server: SandboxServer, kind: Any, retry_after: float | None, endpoint: str
) -> None:
    path = "/search" if endpoint == "search" else "/crm/v3/objects/emails"
    sandbox.faults.add(
        Fault(kind, api="hubspot", path=path, times=2, retry_after=retry_after, delay=0.05)
    )
    budget = ApiBudget()
    client = client_for(server, budget)
    if endpoint == "search":
        body = client.search("emails", SEARCH)
    else:
        body = client.list_page("emails", limit=10)
    assert len(body["results"]) == 10
    assert budget.calls == (1 if kind == "slow" else 3)  # each failed attempt is a call


def test_the_daily_limit_stops_at_once(sandbox: Sandbox, server: SandboxServer) -> None:
    sandbox.faults.add(Fault("daily_limit", api="hubspot", times=None))
    budget = ApiBudget()
    with pytest.raises(QuotaReached, match="HubSpot daily API limit reached"):
        client_for(server, budget).list_page("emails", limit=10)
    assert budget.calls == 1


def test_a_rejected_private_app_token_is_a_clear_error(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    sandbox.faults.add(Fault("expire_session", api="hubspot"))
    with pytest.raises(AuthenticationError, match=r"rejected the access token \(EXPIRED_AUTH"):
        client_for(server, ApiBudget()).list_page("emails", limit=1)
    with pytest.raises(AuthenticationError, match="check the connection's private app token"):
        client_for(server, ApiBudget(), access_token="pat-wrong").list_page("emails", limit=1)
    with pytest.raises(AuthenticationError, match="has no credentials"):
        client_for(server, ApiBudget(), access_token="").list_page("emails", limit=1)


def oauth_for(server: SandboxServer, **overrides: str) -> dict[str, str]:
    """The sandbox's OAuth app: no access token yet, a refresh token to get one."""
    info = server.connection_info()["hubspot"]
    return {
        "refresh_token": info["refresh_token"],
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
        "oauth_base_url": info["base_url"],
        **overrides,
    }


def test_oauth_apps_refresh_their_token_first_and_when_it_expires(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    client = client_for(server, ApiBudget(), **oauth_for(server))
    assert len(client.list_page("emails", limit=3)["results"]) == 3
    assert sandbox.calls["hubspot.oauth_token"] == 1
    assert client.auth.expires_at is not None
    sandbox.faults.add(Fault("expire_session", api="hubspot"))
    assert len(client.search("emails", SEARCH)["results"]) == 10
    assert sandbox.calls["hubspot.oauth_token"] == 2
    wrong = client_for(server, ApiBudget(), **oauth_for(server, refresh_token="revoked"))
    with pytest.raises(AuthenticationError, match=r"refused the OAuth refresh \(400 BAD_REFRESH"):
        wrong.list_page("emails", limit=1)


def test_a_token_expired_on_the_portal_clock_is_refreshed_once_and_the_call_goes_on(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    client = client_for(server, ApiBudget(), **oauth_for(server))
    client.list_page("emails", limit=1)
    first = client.auth.access_token
    sandbox.advance(minutes=31)  # HubSpot's tokens live 30 minutes
    assert len(client.list_page("emails", limit=2)["results"]) == 2
    assert sandbox.calls["hubspot.oauth_token"] == 2
    assert client.auth.access_token != first


def test_a_missing_scope_names_the_scope_to_grant(sandbox: Sandbox, server: SandboxServer) -> None:
    token = sandbox.config.hs_access_token
    sandbox.hs_tokens.set_scopes(token, ["crm.objects.contacts.read", "crm.objects.owners.read"])
    client = client_for(server, ApiBudget())
    assert client.list_page("emails", limit=1)["results"]
    with pytest.raises(MissingPermission, match=r"lacks the scope crm\.objects\.deals") as error:
        client.list_page("deals", limit=1)
    assert error.value.missing == ("crm.objects.deals.read",)
    assert "add it to the app's scopes" in str(error.value)


def test_searches_are_paced_to_the_search_limit(portal_dir: Path) -> None:
    sandbox = Sandbox.from_export(portal_dir, SandboxConfig(hs_search_per_second=5))
    with SandboxServer(sandbox) as server:
        info = server.connection_info()["hubspot"]
        budget = ApiBudget()
        client = HubSpotClient(
            info["base_url"],
            HubSpotAuth(access_token=info["access_token"]),
            budget,
            retry=FAST_RETRY,
            search_per_second=4,  # the default: HubSpot allows 5
        )
        started = time.monotonic()
        for _ in range(6):
            client.search("emails", SEARCH)
        assert budget.calls == 6  # not one 429
        assert time.monotonic() - started >= 1.0
