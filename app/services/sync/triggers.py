"""Sync triggers a CRM can call: Salesforce Flows and Outbound Messages ask for a sync now.

A Flow's HTTP callout can send a header (`Authorization: Bearer <token>`); an Outbound Message
cannot, so its endpoint URL carries the token (`?token=`). Each connection's token is an HMAC of
its name and id under the deployment's secret key: nothing to store, different for every
connection, and replaced when the key rotates (every key in MILESTONES_SECRET_KEY verifies,
the first one issues).

    token = trigger_token(keys, "acme", 1)                 # `milestones trigger-token acme`
    streams = outbound_message_streams(xml_body, known)   # the sObjects a message names
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

__all__ = [
    "OUTBOUND_ACK",
    "TriggerEndpoint",
    "outbound_message_streams",
    "trigger_endpoint",
    "trigger_token",
    "trigger_token_valid",
]

OUTBOUND_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soapenv:Body><notificationsResponse "
    'xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)
"""The answer Salesforce needs, or it retries the message for up to 24 hours."""

_SOBJECT_TYPE = re.compile(rb'<(?:\w+:)?sObject\b[^>]*\btype="(?:\w+:)?(\w+)"')


def trigger_token(keys: Sequence[bytes], connection: str, connection_id: int) -> str:
    return _token(keys[0], connection, connection_id)


class TriggerEndpoint(BaseModel):
    """Where a connection's Flow or Outbound Message calls, and the token it presents."""

    connection: str
    token: str
    url: str


def trigger_endpoint(
    keys: Sequence[bytes], connection: str, connection_id: int, base_url: str
) -> TriggerEndpoint:
    return TriggerEndpoint(
        connection=connection,
        token=trigger_token(keys, connection, connection_id),
        url=f"{base_url}/webhooks/salesforce/{connection}",
    )


def _token(key: bytes, connection: str, connection_id: int) -> str:
    message = f"milestones-trigger:{connection_id}:{connection}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def trigger_token_valid(
    keys: Iterable[bytes], connection: str, connection_id: int, presented: str
) -> bool:
    valid = False
    for key in keys:  # every key, so the time taken says nothing about which matched
        expected = _token(key, connection, connection_id)
        valid |= hmac.compare_digest(expected.encode(), presented.encode())
    return valid


def outbound_message_streams(body: bytes, known: Iterable[str]) -> list[str] | None:
    """The streams an Outbound Message's notifications name; None (every stream) otherwise."""
    named = {match.decode() for match in _SOBJECT_TYPE.findall(body)}
    streams = sorted(named & set(known))
    return streams or None
