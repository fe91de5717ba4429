"""The connector engine: declarative streams, typed cursors, and the page loop.

CRM-specific packages (`connectors.salesforce`, `connectors.hubspot`, `connectors.exports`)
describe their streams and implement `StreamReader`; the engine owns the loop
fetch -> quarantine malformed -> persist + checkpoint (one transaction, in the sink) -> advance.
"""

from connectors.core.budget import ApiBudget
from connectors.core.cursor import CursorState
from connectors.core.engine import (
    Page,
    PageCounts,
    Quarantined,
    StreamOutcome,
    StreamReader,
    StreamResult,
    StreamRun,
    SyncSink,
    run_stream,
    run_streams,
)
from connectors.core.errors import (
    AuthenticationError,
    ConfigError,
    ConnectorError,
    Interrupted,
    MalformedResponse,
    MissingPermission,
    QuotaReached,
    RateLimited,
    TransientError,
    Unreachable,
)
from connectors.core.records import Record
from connectors.core.resume import ResumeState
from connectors.core.retry import RetryPolicy
from connectors.core.streams import StreamSpec

__all__ = [
    "ApiBudget",
    "AuthenticationError",
    "ConfigError",
    "ConnectorError",
    "CursorState",
    "Interrupted",
    "MalformedResponse",
    "MissingPermission",
    "Page",
    "PageCounts",
    "Quarantined",
    "QuotaReached",
    "RateLimited",
    "Record",
    "ResumeState",
    "RetryPolicy",
    "StreamOutcome",
    "StreamReader",
    "StreamResult",
    "StreamRun",
    "StreamSpec",
    "SyncSink",
    "TransientError",
    "Unreachable",
    "run_stream",
    "run_streams",
]
