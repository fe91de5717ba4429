"""A throwaway certificate authority (trustme) and a loopback server certificate signed by it.

simple-salesforce always speaks https, so the Salesforce listener serves this certificate and
clients trust `ca_file` (requests: `session.verify = ca_file; session.trust_env = False`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["TlsFiles", "make_tls_files"]


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Milestone Sync sandbox CA")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    files = TlsFiles(
        directory / "sandbox-ca.pem", directory / "server.pem", directory / "server.key"
    )
    ca.cert_pem.write_to_path(str(files.ca_file))
    cert.private_key_pem.write_to_path(str(files.key_file))
    with files.cert_file.open("wb") as handle:
        for blob in cert.cert_chain_pems:
            handle.write(blob.bytes())
    return files
