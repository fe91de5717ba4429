"""Every OAuth grant the product supports logs in to the sandbox org through its token endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.core import AuthenticationError, Unreachable
from connectors.salesforce import SalesforceAuth
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.sandbox.crm.export_fixture import write_export

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    config = SandboxConfig(sf_jwt_public_key_pem=PUBLIC_PEM)
    with SandboxServer(Sandbox.from_export(export, config)) as running:
        yield running


def _session(server: SandboxServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_file)
    return session


def _auth(server: SandboxServer, flow: str, **overrides: str) -> SalesforceAuth:
    config = server.sandbox.config
    values = {
        "client_secret": config.sf_client_secret,
        "refresh_token": config.sf_refresh_token,
        "username": config.sf_username,
        "password": config.sf_password,
        "private_key": PRIVATE_PEM,
        **overrides,
    }
    return SalesforceAuth(flow, server.token_url, config.sf_client_id, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("flow", ["client_credentials", "refresh_token", "password", "jwt"])
def test_each_grant_returns_a_token_and_the_instance_url(server: SandboxServer, flow: str) -> None:
    token = _auth(server, flow).fetch(_session(server))
    assert token.instance_url == server.salesforce_url
    assert token.access_token
    assert token.access_token not in repr(token)


@pytest.mark.parametrize(
    ("flow", "override"),
    [
        ("client_credentials", {"client_secret": "nope"}),
        ("refresh_token", {"refresh_token": "revoked"}),
        ("password", {"password": "wrong"}),
        ("jwt", {"private_key": rsa.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()}),
    ],
)  # fmt: skip
def test_a_refused_grant_is_an_authentication_error_naming_the_flow(
    server: SandboxServer, flow: str, override: dict[str, str]
) -> None:
    with pytest.raises(AuthenticationError, match=f"Salesforce refused the {flow} login"):
        _auth(server, flow, **override).fetch(_session(server))


def test_a_token_endpoint_with_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    auth = SalesforceAuth("client_credentials", "https://127.0.0.1:1/services/oauth2/token", "id")
    with pytest.raises(Unreachable, match=r"Salesforce at 127\.0\.0\.1:1 .* connection refused"):
        auth.fetch(requests.Session())
