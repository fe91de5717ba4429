"""Both CRMs' clients meet the same failures alike, against the sandbox over loopback.

A host that cannot be reached or trusted fails at once with one line naming it, the cause and
the fix (a refused connection after one more quick attempt); 429 with Retry-After, 503 and a
reset connection are retried, bounded. Waits are recorded by the policy's stop event, never
slept, so each test counts attempts and waits instead of timing anything.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.core import (
    ApiBudget,
    RateLimited,
    RetryPolicy,
    TransientError,
    Unreachable,
)
from connectors.hubspot import HubSpotAuth, HubSpotClient
from connectors.salesforce import SalesforceAuth
from connectors.salesforce.client import SalesforceClient
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.faults import Fault
from tests.sandbox.crm.export_fixture import write_export

CRMS = ["salesforce", "hubspot"]


class Waits(threading.Event):
    """A stop that is never set: records each wait the policy asks for instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waited: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.append(timeout or 0.0)
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(export, SandboxConfig())) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults(server: SandboxServer) -> Iterator[None]:
    server.sandbox.faults.clear()
    yield
    server.sandbox.faults.clear()


@pytest.fixture
def waits() -> Waits:
    return Waits()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def one_call(
    crm: str, server: SandboxServer, waits: Waits, *, url: str | None = None, trust: bool = True
) -> Callable[[], Any]:
    """One API call through the CRM's real client; `url` points it elsewhere, `trust=False`
    leaves out the sandbox's CA."""
    retry = RetryPolicy(attempts=3, stop=waits)
    info = server.connection_info()[crm]
    if crm == "salesforce":
        auth = SalesforceAuth(
            "client_credentials",
            url or info["token_url"],
            info["client_id"],
            info["client_secret"],
        )
        ca_file = info["ca_file"] if trust else None
        sf = SalesforceClient(auth, ApiBudget(), ca_file=ca_file, retry=retry)
        return lambda: sf.call(lambda api: api.query("SELECT Id FROM Task LIMIT 1"))
    auth_hs = HubSpotAuth(access_token=info["access_token"])
    hs = HubSpotClient(url or info["base_url"], auth_hs, ApiBudget(), retry=retry)
    return lambda: hs.owners_page(limit=1, after=None, archived=False)


def elsewhere(crm: str, host: str) -> str:
    return f"https://{host}/services/oauth2/token" if crm == "salesforce" else f"http://{host}"


@pytest.mark.parametrize("crm", CRMS)
def test_an_untrusted_certificate_fails_at_once_naming_the_ca_file(
    crm: str, server: SandboxServer, waits: Waits
) -> None:
    # HubSpot's client is pointed at the sandbox's TLS listener, signed by a CA it does not know.
    url = None if crm == "salesforce" else f"https://127.0.0.1:{server.salesforce_port}"
    with pytest.raises(Unreachable) as failure:
        one_call(crm, server, waits, url=url, trust=False)()
    assert failure.value.cause == "tls" and waits.waited == []
    assert f"127.0.0.1:{server.salesforce_port}" in str(failure.value)
    assert "certificate is not trusted" in str(failure.value)
    assert "ca_file" in str(failure.value)


@pytest.mark.parametrize("crm", CRMS)
def test_a_refused_connection_gets_one_quick_attempt_more_then_fails(
    crm: str, server: SandboxServer, waits: Waits
) -> None:
    port = closed_port()
    with pytest.raises(Unreachable) as failure:
        one_call(crm, server, waits, url=elsewhere(crm, f"127.0.0.1:{port}"))()
    assert failure.value.cause == "refused"
    assert waits.waited == [RetryPolicy().quick_wait]  # two attempts, one short wait between
    line = str(failure.value)
    assert f"127.0.0.1:{port}" in line and "connection refused" in line and "\n" not in line


@pytest.mark.parametrize("crm", CRMS)
def test_a_name_that_does_not_resolve_fails_at_once(
    crm: str, server: SandboxServer, waits: Waits
) -> None:
    with pytest.raises(Unreachable) as failure:
        one_call(crm, server, waits, url=elsewhere(crm, "crm.invalid"))()
    assert failure.value.cause == "dns" and waits.waited == []
    assert "crm.invalid does not resolve" in str(failure.value)


@pytest.mark.parametrize("crm", CRMS)
def test_a_rate_limit_waits_what_retry_after_says_then_goes_on(
    crm: str, server: SandboxServer, waits: Waits
) -> None:
    path = "/query" if crm == "salesforce" else "/owners"
    fault = server.sandbox.faults.add(Fault("rate_limit", api=crm, path=path, retry_after=7))  # type: ignore[arg-type]
    assert one_call(crm, server, waits)()
    assert fault.fired == 1 and waits.waited == [7.0]


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("kind", ["unavailable", "reset"])
def test_a_503_or_a_reset_is_retried_with_backoff(
    crm: str, kind: str, server: SandboxServer, waits: Waits
) -> None:
    path = "/query" if crm == "salesforce" else "/owners"
    fault = server.sandbox.faults.add(
        Fault(kind, api=crm, path=path, times=2, retry_after=None)  # type: ignore[arg-type]
    )
    assert one_call(crm, server, waits)()
    assert fault.fired == 2 and len(waits.waited) == 2


@pytest.mark.parametrize("crm", CRMS)
def test_a_crm_that_keeps_failing_is_retried_a_bounded_number_of_times(
    crm: str, server: SandboxServer, waits: Waits
) -> None:
    path = "/query" if crm == "salesforce" else "/owners"
    fault = server.sandbox.faults.add(
        Fault("unavailable", api=crm, path=path, times=None, retry_after=None)
    )
    with pytest.raises(TransientError, match="503"):
        one_call(crm, server, waits)()
    assert fault.fired == 3 and len(waits.waited) == 2  # RetryPolicy(attempts=3)


def test_a_rate_limit_without_retry_after_still_backs_off(
    server: SandboxServer, waits: Waits
) -> None:
    fault = server.sandbox.faults.add(
        Fault("rate_limit", api="hubspot", path="/owners", times=None, retry_after=None)
    )
    with pytest.raises(RateLimited):
        one_call("hubspot", server, waits)()
    assert fault.fired == 3 and len(waits.waited) == 2
