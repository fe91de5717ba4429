"""Which stream a line of a Singer tap's or an Airbyte source's stdout carries a record of.

    record_stream(b'{"type": "RECORD", "stream": "Task", "record": {...}}')   # "Task"
    record_stream(b'{"type":"RECORD","record":{"stream":"deals","data":{...}}}')  # "deals"
    record_stream(b'{"type": "STATE", ...}')                                    # None

Both protocols write one JSON message a line. The harness reads every line a peer writes, so
this runs hundreds of thousands of times in the measuring process: it looks at the message's
head instead of parsing the whole record, which would not change what is counted (one RECORD
message, one record) and would make the harness slow enough to hold the peer back on a full pipe.
"""

from __future__ import annotations

import json
import re

__all__ = ["record_stream", "trace_error"]

_SINGER = re.compile(rb'^\{\s*"type"\s*:\s*"RECORD"\s*,\s*"stream"\s*:\s*"([^"]+)"')
_AIRBYTE = re.compile(
    rb'^\{\s*"type"\s*:\s*"RECORD"\s*,\s*"record"\s*:\s*\{\s*(?:"namespace"\s*:\s*(?:null|"[^"]*")\s*,\s*)?"stream"\s*:\s*"([^"]+)"'
)
_HEAD = re.compile(rb'^\{\s*"type"\s*:\s*"RECORD"')
_ANY_STREAM = re.compile(rb'"stream"\s*:\s*"([^"]+)"')


def record_stream(line: bytes) -> str | None:
    """The stream of the record this message carries; None when it is not a RECORD message."""
    match = _SINGER.match(line) or _AIRBYTE.match(line)
    if match:
        return match.group(1).decode()
    if _HEAD.match(line):  # a RECORD whose keys come in another order
        found = _ANY_STREAM.search(line)
        return found.group(1).decode() if found else "?"
    return None


def trace_error(line: bytes) -> str | None:
    """The message of an Airbyte TRACE error (where a source reports why it failed), else None.

    trace_error(b'{"type":"TRACE","trace":{"type":"ERROR","error":{"message":"boom"}}}')
    """
    if b'"TRACE"' not in line[:40] or b'"ERROR"' not in line:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    error = (message.get("trace") or {}).get("error") or {}
    text = error.get("message") or ""
    internal = error.get("internal_message") or ""
    return f"{text} ({internal})" if internal and internal not in text else text or None
