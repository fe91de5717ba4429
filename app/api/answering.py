"""What every KPI endpoint shares: its filters and `as_of` read from the query (a 422 naming
the parameter when one is wrong; a rep's key narrowed to the rep's own opportunities), the
answer encoded once per state generation and sent with the data's age written into the kept
bytes, and how the parameters and the success answer are documented. The KPI, targets and
process-health routes answer through it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from app.api.deps import require
from app.core.errors import ForbiddenError, InvalidRequestError
from app.services.access.api_keys import Principal
from app.services.kpis import queries as service
from app.services.kpis.store import KpiStore
from crm import parse_instant

Reader = Annotated[Principal, Depends(require("manager", "rep"))]
FILTERS = {"process", "segment", "owner", "team", "connection"}
PERIOD = {"start", "end"}
AS_OF = "as_of"


def instant(name: str, text: str | None) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = parse_instant(text)
    except ValueError:
        raise InvalidRequestError(
            f"{name}: {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant"
        ) from None
    return moment  # aware UTC


def request_filters(
    request: Request, principal: Principal, allowed: set[str], *, period: bool = True
) -> service.Filters:
    accepted = allowed | FILTERS | {AS_OF} | (PERIOD if period else set())
    params = request.query_params
    for name in params:
        if name not in accepted:
            raise InvalidRequestError(
                f"{name}: unknown parameter; this endpoint takes {', '.join(sorted(accepted))}"
            )
    for name in params:
        if len(params.getlist(name)) > 1:
            raise InvalidRequestError(f"{name}: given more than once")
    owner = params.get("owner") or None
    if principal.role == "rep":
        if owner is not None and owner != principal.owner:
            raise ForbiddenError("owner: a rep's key sees only that rep's own opportunities")
        owner = principal.owner
    start = instant("start", params.get("start")) if period else None
    end = instant("end", params.get("end")) if period else None
    if start is not None and end is not None and end <= start:
        raise InvalidRequestError("end: the period ends before it starts (end must be after start)")
    return service.Filters(
        process=params.get("process") or None,
        segment=params.get("segment") or None,
        owner=owner,
        team=params.get("team") or None,
        connection=params.get("connection") or None,
        start=start,
        end=end,
    )


def encode_json(value: Any) -> bytes:
    """Answers are dataclasses, which orjson writes natively; a pydantic answer is dumped
    first, by its aliases, as `model_dump(mode="json")` prints it everywhere else."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def requested_as_of(request: Request) -> datetime | None:
    return instant(AS_OF, request.query_params.get(AS_OF))


async def answer(
    store: KpiStore,
    key: tuple[Any, ...],
    compute: Callable[[Any], Any],
    as_of: datetime | None = None,
) -> Response:
    """The encoded answer for `key` at the store's current generation: computed (on a worker
    thread) once, then served from memory until the opportunity state changes. With `as_of`,
    from the view as it stood then (`KpiStore.at`; a 422 where it cannot be answered)."""
    snapshot = store.snapshot() if store.ready else await run_in_threadpool(store.snapshot)
    if as_of is not None:
        snapshot = await run_in_threadpool(store.at, as_of)
        key = (AS_OF, as_of.timestamp(), *key)
    full = (snapshot.generation, *key)
    found: Encoded | None = store.remembered(full)
    if found is None:
        found = await run_in_threadpool(encode, snapshot, compute)
        store.remember(full, found)
    return found.sent(store.data_age_seconds())


_AGE = b'"data_age_seconds":'
_AGE_VALUE = re.compile(rb"(?:null|-?[0-9][0-9.eE+-]*)}")


@dataclass(frozen=True, slots=True)
class Encoded:
    """An answer as it is sent, kept for its snapshot's generation. A JSON answer ends with
    `data_age_seconds`, which moves every second: `age_at` is where its value starts, so that
    each response writes the age of now into the kept bytes (None: CSV, the header only)."""

    body: bytes
    media_type: str
    headers: dict[str, str]
    age_at: int | None

    def sent(self, age: float | None) -> Response:
        """The response with the data's age now, in the body and in the header alike."""
        body = self.body
        if self.age_at is not None:
            body = b"".join((body[: self.age_at], orjson.dumps(age), b"}"))
        headers = {**self.headers, "X-Data-Age-Seconds": "none" if age is None else f"{age:.1f}"}
        return Response(body, media_type=self.media_type, headers=headers)


def encode(snapshot: Any, compute: Callable[[Any], Any]) -> Encoded:
    value = compute(snapshot)
    if isinstance(value, tuple):
        body, media_type, headers = value
    else:
        body, media_type, headers = encode_json(value), "application/json", {}
    if media_type != "application/json":
        return Encoded(body, media_type, headers, None)
    at = body.rfind(_AGE) + len(_AGE)
    if at < len(_AGE) or not _AGE_VALUE.fullmatch(body, at):
        raise TypeError(f"{type(value).__name__}: a KPI answer ends with data_age_seconds")
    return Encoded(body, media_type, headers, at)


AS_OF_DOC = (
    "Answer as of this past instant (date or ISO instant, UTC; default: the data "
    "clock): what an export taken then would answer. Deals created since are left out, "
    "milestones count on evidence the CRM held then, outcomes, amounts, stage probabilities "
    "and close dates are as they were (the CRM's field history), the model is refitted on "
    "that; owners, teams and names are today's. An opportunity deleted since is there as it "
    "was then, with its process, the milestones it reached by then and its outcome (today's "
    "view leaves it out), and a record a later deletion moved counts where it was then. The "
    "answer's `as_of` is the instant used. 422 when it is after the data clock (the future is "
    "unknown), before the first opportunity, or not an instant."
)
AsOfQuery = Annotated[str | None, Query(description=AS_OF_DOC)]

FILTER_DOCS = {
    "process": "Process key, e.g. `smb_new_business`.",
    "segment": "Segment the process serves, e.g. `SMB`.",
    "owner": "The rep's CRM owner id.",
    "team": "Team name.",
    "connection": "Connection name.",
    "start": "Period start (date or ISO instant, UTC).",
    "end": "Period end, exclusive.",
    "as_of": AS_OF_DOC,
}


def documented(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"},
         "description": FILTER_DOCS[n]}
        for n in names
    ]  # fmt: skip


ALL_FILTERS = ("process", "segment", "owner", "team", "connection", "start", "end", "as_of")
NO_PERIOD = ("process", "segment", "owner", "team", "connection", "as_of")


DATA_AGE_HEADER = {
    "description": "Seconds since the newest successful sync behind the answer finished (how "
    "old the CRM data is; `none` before any sync): the body's `data_age_seconds`, also for a "
    "CSV export. The body's `as_of` is the data clock the answer is computed at, where that "
    "sync left it.",
    "schema": {"type": "string"},
}


def ok_responses(
    example: dict[str, Any], *, table: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The success answer's description; a `table` also answers CSV (`format=csv`)."""
    content: dict[str, Any] = {"application/json": {"example": example}}
    if table:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {
        200: {
            "description": "OK",
            "content": content,
            "headers": {"X-Data-Age-Seconds": DATA_AGE_HEADER},
        }
    }
