"""Start a peer's console script with its CRM's base URL pointed at the sandbox, nothing else.

    PEER_PYTHON redirect.py --map https://api.hubapi.com=http://127.0.0.1:8081 \\
        --script tap-hubspot -- --config config.json --catalog catalog.json

Peers hard-code their CRM's origin (`https://api.hubapi.com`, `https://login.salesforce.com`;
Salesforce's instance URL then comes from the token answer, so it is the sandbox's already),
and most have no setting for it. Rewriting the origin of each request where `requests` sends
it is the narrowest change that points them at the sandbox: the peer builds every path, query,
body and header itself, pages and retries as it would against the real API. It runs inside the
peer's own virtualenv, so it imports nothing but the standard library and `requests` (every
peer depends on it); it is a file of its own, not part of the `bench` package, for that reason.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points
from typing import Any


def _install(mapping: list[tuple[str, str]]) -> None:
    from requests.adapters import HTTPAdapter

    send = HTTPAdapter.send

    def redirected(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        for origin, target in mapping:
            if request.url.startswith(origin):
                request.url = target + request.url[len(origin) :]
                break
        return send(self, request, *args, **kwargs)

    HTTPAdapter.send = redirected  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--map", action="append", default=[], help="ORIGIN=TARGET")
    parser.add_argument("--script", required=True, help="the peer's console script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    _install([(origin, target) for origin, _, target in (p.partition("=") for p in options.map)])
    (script,) = entry_points(group="console_scripts", name=options.script)
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    sys.argv = [options.script, *args]
    sys.exit(script.load()())


if __name__ == "__main__":
    main()
