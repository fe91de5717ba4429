"""Salesforce's response header names in the case Salesforce writes them: `Content-Type`.

Header names are case-insensitive in HTTP, but Salesforce answers over HTTP/1.1 with
capitalised names (`Content-Type`, `Sforce-Limit-Info`, `Sforce-Locator`), and clients read
them as written: Airbyte's Bulk CSV extractor looks up `dict(response.headers)["content-type"]`
and parses it only when found, a lookup real Salesforce never satisfies. Starlette writes every
name in lower case, so this rewrites the names of each answer's headers on its way out (and the
Salesforce listener runs uvicorn's h11 protocol, which writes names as given; httptools
lower-cases them again).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SalesforceHeaderCase", "canonical"]


def canonical(name: bytes) -> bytes:
    """b"sforce-limit-info" -> b"Sforce-Limit-Info"."""
    return b"-".join(part[:1].upper() + part[1:] for part in name.split(b"-"))


class SalesforceHeaderCase:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_canonical(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(canonical(bytes(k)), v) for k, v in message.get("headers", [])]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_canonical)
