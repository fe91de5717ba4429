"""HubSpot webhooks: change events POSTed, signed as HubSpot signs them, to the configured URL.

    X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client_secret, method + uri + body + timestamp))
    X-HubSpot-Request-Timestamp = the milliseconds that went into the signature
    X-HubSpot-Signature = hex(SHA-256(client_secret + body)), X-HubSpot-Signature-Version: v1

HubSpot keeps sending the legacy v1 signature beside v3 for CRM object subscriptions, so a
receiver that checks only one of them is tested against both.

Events for contacts, companies and deals are '<object>.creation|deletion|propertyChange'; other
objects use 'object.<kind>' with an objectTypeId, as HubSpot's generic subscriptions do. A
background thread batches up to `webhook_batch_size` events per request and retries a failed
delivery three times (attemptNumber counts up).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from sandbox.crm.config import SandboxConfig
from sandbox.crm.hubspot.schema import OBJECT_TYPES
from sandbox.crm.hubspot.store import ChangeEvent, HubSpotStore

__all__ = ["Delivery", "WebhookDispatcher", "sign_v1", "sign_v3"]

_NAMED = {"contacts", "companies", "deals"}


def sign_v1(secret: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + body).hexdigest()


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    source = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


@dataclass
class Delivery:
    url: str
    status: int | None
    events: int
    attempt: int
    error: str | None = None


class WebhookDispatcher:
    def __init__(self, store: HubSpotStore, config: SandboxConfig) -> None:
        self.config = config
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        store.listeners.append(self.enqueue)

    def enqueue(self, events: list[ChangeEvent]) -> None:
        if not self.config.webhook_url:
            return
        for event in events:
            self._idle.clear()
            self._queue.put(self._payload(event))
        self._ensure_thread()

    def _payload(self, event: ChangeEvent) -> dict[str, Any]:
        object_type = event.object_type
        body: dict[str, Any] = {
            "eventId": next(self._ids),
            "subscriptionId": 1000 + list(OBJECT_TYPES).index(object_type),
            "portalId": self.config.hs_portal_id,
            "appId": self.config.hs_app_id,
            "occurredAt": event.occurred_ms,
            "attemptNumber": 0,
            "objectId": int(event.object_id),
            "changeSource": "CRM",
        }
        if object_type in _NAMED:
            body["subscriptionType"] = f"{OBJECT_TYPES[object_type][0]}.{event.kind}"
        else:
            body["subscriptionType"] = f"object.{event.kind}"
            body["objectTypeId"] = OBJECT_TYPES[object_type][1]
        if event.kind == "propertyChange":
            body["propertyName"] = event.property_name
            body["propertyValue"] = event.property_value or ""
        return body

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued event was delivered (or given up on)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:
                try:
                    first = self._queue.get(timeout=1.0)
                except queue.Empty:
                    self._idle.set()
                    return
                if first is None:
                    return
                batch = [first]
                while len(batch) < self.config.webhook_batch_size:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        batch.append(item)
                self._deliver(client, batch)
                if self._queue.empty():
                    self._idle.set()

    def _deliver(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        url = self.config.webhook_url
        if not url:
            return
        for attempt in range(4):
            for event in batch:
                event["attemptNumber"] = attempt
            body = orjson.dumps(batch)
            timestamp = str(int(time.time() * 1000))
            headers = {
                "Content-Type": "application/json",
                "X-HubSpot-Signature-v3": sign_v3(
                    self.config.hs_client_secret, "POST", url, body, timestamp
                ),
                "X-HubSpot-Request-Timestamp": timestamp,
                "X-HubSpot-Signature": sign_v1(self.config.hs_client_secret, body),
                "X-HubSpot-Signature-Version": "v1",
                "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)",
            }
            try:
                status: int | None = client.post(url, content=body, headers=headers).status_code
                error = None
            except httpx.HTTPError as failure:
                status, error = None, str(failure)
            self.deliveries.append(Delivery(url, status, len(batch), attempt, error))
            if status is not None and status < 500 and status != 429:
                return
            time.sleep(0.05 * (attempt + 1))
