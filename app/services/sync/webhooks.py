"""CRM webhooks in: HubSpot v3 signatures checked, replays refused, affected streams queued.

HubSpot signs each delivery with the app's client secret:

    X-HubSpot-Signature-v3 = base64(HMAC-SHA256(secret, method + uri + body + timestamp))
    X-HubSpot-Request-Timestamp = milliseconds since the epoch

A delivery is accepted when its timestamp is at most five minutes old, the signature matches
one HubSpot connection's client secret (compared in constant time) and that signature was never
seen before (`webhook_receipts`, shared by every API process). Its events name object types;
the matching streams of the connection are queued for an immediate incremental sync.

    outcome = receive_hubspot(database, box, method, uri, body, headers)
    outcome.reason        # "accepted" | "unsigned" | "stale" | "bad_signature" | "replayed" ...
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import unquote

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from app.core.crypto import SecretBox, load_keys
from app.core.database import Database
from app.core.settings import Settings
from app.models import Connection, WebhookReceipt
from app.models.base import utcnow
from app.services.connections.registry import SalesforceSettings, connection_settings
from app.services.jobs.queue import enqueue
from app.services.sync.triggers import outbound_message_streams, trigger_token_valid
from connectors.salesforce import salesforce_streams

__all__ = [
    "MAX_AGE",
    "WebhookOutcome",
    "forget_receipts",
    "hubspot_streams_for",
    "receive_hubspot",
    "receive_salesforce_trigger",
    "signature_v3",
]

MAX_AGE = timedelta(minutes=5)
Reason = Literal[
    "accepted", "unsigned", "stale", "bad_signature", "replayed", "malformed", "unauthorized"
]

# objectTypeId (and the names in subscription types) -> the stream that holds those objects
_OBJECT_STREAMS = {
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "0-27": "tasks",
    "0-46": "notes",
    "0-47": "meetings",
    "0-48": "calls",
    "0-49": "emails",
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
}
# Characters HubSpot decodes in the URI before signing (developers.hubspot.com, v3 signatures).
_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    source = method.encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _signed_uri(uri: str) -> str:
    for encoded in _DECODED:
        uri = uri.replace(encoded, unquote(encoded)).replace(encoded.lower(), unquote(encoded))
    return uri


@dataclass
class WebhookOutcome:
    reason: Reason
    connections: list[str] = field(default_factory=list)
    events: int = 0
    jobs: list[int] = field(default_factory=list)
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason == "accepted"


def hubspot_streams_for(events: list[dict[str, Any]]) -> list[str] | None:
    """The streams a batch of events touches; None (every stream) for an unknown kind."""
    streams: set[str] = set()
    for event in events:
        kind = str(event.get("subscriptionType", ""))
        subject = kind.split(".", 1)[0]
        key = str(event.get("objectTypeId", "")) if subject == "object" else subject
        stream = _OBJECT_STREAMS.get(key)
        if stream is None:
            return None
        streams.add(stream)
        if kind.endswith("associationChange"):
            return None  # both ends move; associations travel inside several streams
    return sorted(streams)


def _hubspot_secrets(database: Database, box: SecretBox) -> list[tuple[int, str, str, str | None]]:
    """(id, name, client secret, portal id) of every enabled HubSpot connection with a secret."""
    with database.sessions() as session:
        rows = session.execute(
            select(
                Connection.id, Connection.name, Connection.credentials_sealed, Connection.settings
            )
            .where(Connection.kind == "hubspot", Connection.enabled.is_(True))
            .order_by(Connection.id)
        ).all()
    found = []
    for connection_id, name, sealed, settings in rows:
        secret = box.open(sealed).get("client_secret", "")
        if secret:
            portal = settings.get("portal_id")
            found.append((int(connection_id), str(name), secret, str(portal) if portal else None))
    return found


def _first_seen(database: Database, signature: str) -> bool:
    digest = hashlib.sha256(signature.encode()).hexdigest()
    try:
        with database.engine.begin() as db:
            db.execute(
                insert(WebhookReceipt).values(digest=digest, source="hubspot", received_at=utcnow())
            )
    except IntegrityError:
        return False
    return True


def receive_hubspot(
    database: Database,
    box: SecretBox,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    now_ms: int | None = None,
) -> WebhookOutcome:
    """Check one delivery and queue the syncs it calls for (nothing is queued unless accepted)."""
    signature = headers.get("x-hubspot-signature-v3", "")
    timestamp = headers.get("x-hubspot-request-timestamp", "")
    if not signature or not timestamp:
        return WebhookOutcome("unsigned")
    try:
        sent_ms = int(timestamp)
    except ValueError:
        return WebhookOutcome("stale")
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    max_age_ms = int(MAX_AGE.total_seconds() * 1000)
    if now_ms - sent_ms > max_age_ms or sent_ms - now_ms > max_age_ms:
        return WebhookOutcome("stale")
    signed_uri = _signed_uri(uri)
    matches = []
    for connection_id, name, secret, portal in _hubspot_secrets(database, box):
        expected = signature_v3(secret, method.upper(), signed_uri, body, timestamp)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            matches.append((connection_id, name, portal))
    if not matches:
        return WebhookOutcome("bad_signature")
    if not _first_seen(database, signature):
        return WebhookOutcome("replayed")
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError:
        return WebhookOutcome("malformed")
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        return WebhookOutcome("malformed")
    outcome = WebhookOutcome("accepted", events=len(events))
    portals = {str(event.get("portalId")) for event in events if event.get("portalId") is not None}
    for connection_id, name, portal in matches:
        if portal is not None and portals and portal not in portals:
            continue
        mine = [e for e in events if portal is None or str(e.get("portalId")) == portal]
        if not mine:
            continue
        outcome.connections.append(name)
        outcome.jobs.append(enqueue(database, connection_id, "webhook", hubspot_streams_for(mine)))
    return outcome


def receive_salesforce_trigger(
    database: Database,
    settings: Settings,
    name: str,
    token: str,
    body: bytes,
    content_type: str,
) -> WebhookOutcome:
    """A Flow (JSON `{"streams": [...]}`, optional) or an Outbound Message (SOAP) asks for a
    sync of a Salesforce connection; the connection's trigger token authenticates it."""
    with database.sessions() as session:
        connection = session.scalar(select(Connection).where(Connection.name == name))
    if connection is None or connection.kind != "salesforce" or not token:
        return WebhookOutcome("unauthorized")
    if not trigger_token_valid(load_keys(settings), connection.name, connection.id, token):
        return WebhookOutcome("unauthorized")
    parsed = connection_settings(connection)
    assert isinstance(parsed, SalesforceSettings)
    known = [spec.name for spec in salesforce_streams(parsed.streams, parsed.extra_fields)]
    streams: list[str] | None = None
    events = 1
    if "xml" in content_type:
        streams = outbound_message_streams(body, known)
        events = max(1, body.count(b"<Notification>") + body.count(b":Notification>"))
    elif body.strip():
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return WebhookOutcome("malformed", detail="the body is not JSON")
        asked = document.get("streams") if isinstance(document, dict) else None
        if asked is not None:
            if not isinstance(asked, list) or not all(isinstance(s, str) for s in asked):
                return WebhookOutcome("malformed", detail="streams: a list of stream names")
            unknown = sorted(set(asked) - set(known))
            if unknown:
                return WebhookOutcome(
                    "malformed",
                    detail=f"unknown stream(s) {', '.join(unknown)}; known: {', '.join(known)}",
                )
            streams = sorted(set(asked)) or None
    job = enqueue(database, connection.id, "salesforce", streams)
    return WebhookOutcome("accepted", connections=[connection.name], events=events, jobs=[job])


def forget_receipts(database: Database) -> int:
    """Receipts older than the age limit can go: such a replay is refused as stale anyway."""
    with database.engine.begin() as db:
        gone = db.execute(
            delete(WebhookReceipt).where(WebhookReceipt.received_at < utcnow() - 2 * MAX_AGE)
        )
    return int(gone.rowcount or 0)
