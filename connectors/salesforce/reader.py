"""Reads Salesforce streams page by page through the REST query API.

Each stream is read with `queryAll` (deleted rows arrive with `IsDeleted = true`), ordered by
`SystemModstamp, Id` and filtered from the cursor's frozen start, so every page can be
checkpointed: a killed run resumes from its last stored page, and overlaps are harmless.
Pages are asked for at the API's maximum of 2,000 records.

API calls are the scarce resource, so none is spent on asking what a query would tell anyway:
the stream's fields are queried as declared, and only when Salesforce refuses one (a field this
org lacks or hides) is the object described, the missing optional fields dropped and the query
sent again. A first load big enough for Bulk API 2.0 (the first page's `totalSize` tells)
describes the object once, for the types its CSV needs, and streams the job's results.

The engine reads several streams at once (`streams_at_once`), with at most `pages_at_once`
pages in memory: a Bulk job's wait while Salesforce runs it, its status polled every
`bulk_poll_seconds`, holds no page and goes into reading the other streams and the other
jobs' results, so the jobs of a first load run side by side. A stream keeps no page once it
has handed it over (a page waiting to be stored would otherwise stay alive in every stream
waiting for its turn).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import islice
from typing import Any, TypeVar

import requests
from simple_salesforce.exceptions import SalesforceError

from connectors.core import (
    ConfigError,
    ConnectorError,
    CursorState,
    MalformedResponse,
    Page,
    Quarantined,
    Record,
    StreamSpec,
)
from connectors.core.prefetch import waiting
from connectors.salesforce.bulk import bulk_rows
from connectors.salesforce.bulk_query import create_query_job, result_rows, wait_for_job
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.resume import DescribedFields, SalesforceResume
from crm import parse_instant

__all__ = ["SalesforceReader", "soql_datetime"]

T = TypeVar("T")

log = logging.getLogger(__name__)
_DELETED_FEED_DAYS = timedelta(days=29)
_DESCRIBE_EVERY = timedelta(hours=24)  # how long fields found missing stay left out
_CHECK_OVERLAP = timedelta(minutes=10)  # deletions committed late around the last check


def soql_datetime(value: datetime) -> str:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


class SalesforceReader:
    """`StreamReader` for Salesforce; one per run, sharing the run's client between the
    streams it reads at once."""

    def __init__(
        self,
        client: SalesforceClient,
        *,
        strict_fields: frozenset[str] = frozenset(),
        bulk_threshold: int | None = None,
        bulk_poll_seconds: float = 2.0,
        streams_at_once: int = 6,
        pages_at_once: int = 2,
    ) -> None:
        self.client = client
        self.streams_at_once = streams_at_once
        self.pages_at_once = pages_at_once
        self._strict = strict_fields  # configured (custom) fields: missing ones are an error
        self._bulk_threshold = bulk_threshold
        self._bulk_poll = bulk_poll_seconds
        self._described: dict[str, dict[str, dict[str, Any]]] = {}

    def close(self) -> None:
        self.client.close()

    def resolve_fields(self, spec: StreamSpec) -> list[str]:
        """The spec's fields that this org has; a missing configured field is an error."""
        described = self._describe(spec)
        missing = [name for name in spec.fields if name not in described]
        required = [
            name for name in missing if name in self._strict or name in spec.required_fields
        ]
        if required:
            raise ConfigError(
                f"Salesforce object {spec.object} has no field(s) {', '.join(required)} "
                "(or the integration user cannot see them): fix the connection's field list "
                "or the user's field-level security"
            )
        if missing:
            log.info(
                "optional fields not in this org are skipped",
                extra={"object": spec.object, "fields": missing},
            )
        return [name for name in spec.fields if name in described]

    def soql(self, spec: StreamSpec, fields: list[str], cursor: CursorState) -> str:
        where = ""
        if spec.mode == "incremental" and cursor.start_value is not None:
            where = f" WHERE {spec.cursor_field} >= {soql_datetime(cursor.start_value)}"
        order = f" ORDER BY {spec.cursor_field} ASC, {spec.primary_key} ASC"
        return f"SELECT {', '.join(fields)} FROM {spec.object}{where}{order}"

    def _to_page(self, spec: StreamSpec, rows: list[dict[str, Any]]) -> Page:
        records: list[Record] = []
        quarantined: list[Quarantined] = []
        for row in rows:
            if not isinstance(row, dict):
                quarantined.append(Quarantined(None, "record is not a JSON object", None))
                continue
            external_id = row.get(spec.primary_key)
            stamp = row.get(spec.cursor_field)
            if not external_id or not isinstance(stamp, str):
                missing = spec.primary_key if not external_id else spec.cursor_field
                quarantined.append(Quarantined(external_id, f"missing {missing}", row))
                continue
            try:
                modified = parse_instant(stamp)
            except ValueError:
                reason = f"unreadable {spec.cursor_field} {stamp!r}"
                quarantined.append(Quarantined(external_id, reason, row))
                continue
            records.append(Record(external_id, modified, row, bool(row.get("IsDeleted"))))
        high_water = max((record.modified_at for record in records), default=None)
        return Page(records, quarantined, high_water=high_water)

    def _use_bulk(self, spec: StreamSpec, cursor: CursorState, total: int) -> bool:
        """Bulk API 2.0 pays off for a large first load; the first REST page's `totalSize`
        tells, so small streams spend no extra call on asking."""
        return (
            self._bulk_threshold is not None
            and spec.mode == "incremental"
            and cursor.is_initial
            and total >= self._bulk_threshold
        )

    def _bulk_pages(
        self, spec: StreamSpec, fields: list[str], cursor: CursorState, state: SalesforceResume
    ) -> Iterator[Page]:
        """One job (`queryAll`, unordered so Salesforce can chunk it), its rows streamed into
        pages of the stream's page size; the cursor moves once the last page is stored. A run
        stopped midway starts the load again: upserts are idempotent."""
        described = self._described.get(spec.object)
        if described is None:
            described = self._describe(spec)
        types = {name: str(meta.get("type", "string")) for name, meta in described.items()}
        soql = f"SELECT {', '.join(fields)} FROM {spec.object}"
        job_id = self.client.call(lambda sf: create_query_job(sf, soql))
        with waiting():  # Salesforce runs the job: other streams read meanwhile
            wait_for_job(self.client, job_id, self._bulk_poll)
        rows = bulk_rows(
            _guarded(self.client, result_rows(self.client, job_id)),
            spec.object,
            types,
            self.client.api_version,
        )
        loading = replace(state, bulk=True).to_json()
        newest: list[datetime] = []
        try:
            # each page as a call's value: nothing here holds it while it is being stored
            yield from iter(partial(self._bulk_page, spec, rows, loading, newest), None)
        finally:
            rows.close()
        checked = replace(state, deletions_checked_at=cursor.signpost)
        yield Page([], high_water=max(newest, default=None), resume=checked.to_json())

    def _bulk_page(
        self,
        spec: StreamSpec,
        rows: Iterator[dict[str, Any]],
        resume: dict[str, Any],
        newest: list[datetime],
    ) -> Page | None:
        """The next page of a job's rows (None after the last), its newest change kept in
        `newest`: the cursor moves to it only once the whole load is stored."""
        page = self._to_page(spec, list(islice(rows, spec.page_size)))
        if not page.records and not page.quarantined:
            return None
        if page.high_water is not None:
            newest[:] = [max([*newest, page.high_water])]
        return Page(page.records, page.quarantined, resume=resume)

    def _known_fields(
        self, spec: StreamSpec, cursor: CursorState, state: SalesforceResume
    ) -> DescribedFields:
        """The fields to query. An earlier run's list when it had every declared field (one
        removed since is refused, and looked up then) or found some missing less than a day
        ago; a list with missing fields is looked up again after that (they may have been
        added, or made visible); otherwise the whole declared list."""
        known = state.describe
        if not cursor.is_initial and known is not None and known.wanted == spec.fields:
            if known.fields == spec.fields:
                return known
            if cursor.signpost - known.described_at < _DESCRIBE_EVERY:
                return known
            return self._described_now(spec, cursor)
        return DescribedFields(spec.fields, spec.fields, cursor.signpost)

    def _described_now(self, spec: StreamSpec, cursor: CursorState) -> DescribedFields:
        return DescribedFields(tuple(self.resolve_fields(spec)), spec.fields, cursor.signpost)

    def _describe(self, spec: StreamSpec) -> dict[str, dict[str, Any]]:
        described = self.client.describe_fields(spec.object)
        self._described[spec.object] = described
        return described

    def pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]:
        stored = SalesforceResume.from_json(cursor.resume)
        known = self._known_fields(spec, cursor, stored)
        yield from self._pages(spec, cursor, known, stored)

    def _first_page(
        self, spec: StreamSpec, cursor: CursorState, known: DescribedFields
    ) -> tuple[dict[str, Any], DescribedFields]:
        """The query's first page, and the fields it names. A field the org refuses
        (INVALID_FIELD) is looked up once: the object is described, the fields it lacks are
        dropped (a required or configured one is an error) and the query sent again."""
        try:
            return self._query(spec, list(known.fields), cursor), known
        except ConfigError:
            if spec.object in self._described:  # looked up already: the refusal stands
                raise
            known = self._described_now(spec, cursor)
            return self._query(spec, list(known.fields), cursor), known

    def _query(self, spec: StreamSpec, fields: list[str], cursor: CursorState) -> dict[str, Any]:
        query = self.soql(spec, fields, cursor)
        headers = _batch_size(spec)
        result: dict[str, Any] = self.client.call(
            lambda sf: sf.query(query, include_deleted=True, headers=headers)
        )
        return result

    def _pages(
        self,
        spec: StreamSpec,
        cursor: CursorState,
        known: DescribedFields,
        stored: SalesforceResume,
    ) -> Iterator[Page]:
        """The stream's pages, each carrying the state the run keeps as its resume."""
        result, known = self._first_page(spec, cursor, known)
        state = SalesforceResume(stored.deletions_checked_at, known)
        if self._use_bulk(spec, cursor, int(result.get("totalSize") or 0)):
            del result  # its records come again with the job's
            yield from self._bulk_pages(spec, list(known.fields), cursor, state)
            return
        headers = _batch_size(spec)
        while True:
            yield self._rest_page(spec, result, state)  # held nowhere here while it is stored
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                break
            result = self.client.call(_query_more(next_url, headers))
        checked = replace(state, deletions_checked_at=cursor.signpost)
        if spec.mode == "incremental" and cursor.start_value is not None:
            yield self._hard_deletions(spec, cursor, state)
        elif spec.mode == "incremental":  # a complete first load knows every deletion so far
            yield Page([], resume=checked.to_json())

    def _rest_page(self, spec: StreamSpec, result: dict[str, Any], state: SalesforceResume) -> Page:
        """A query page's records as a `Page`, taken out of `result` (which keeps its
        `nextRecordsUrl`)."""
        rows = result.pop("records", None)
        if not isinstance(rows, list):
            raise MalformedResponse(
                f"Salesforce query page for {spec.object} has no 'records' list: "
                f"{str(result)[:200]}"
            )
        page = self._to_page(spec, rows)
        page.resume = state.to_json()
        return page

    def _hard_deletions(
        self, spec: StreamSpec, cursor: CursorState, state: SalesforceResume
    ) -> Page:
        """Records purged from the recycle bin never reach `queryAll`; the deleted-records
        feed (the last 30 days at most) still names them, as tombstones."""
        assert cursor.start_value is not None
        since = cursor.start_value
        checked = state.deletions_checked_at
        if checked is not None:
            since = max(since, checked - _CHECK_OVERLAP)
        start = max(since, cursor.signpost - _DELETED_FEED_DAYS)
        try:
            feed: dict[str, Any] = self.client.call(
                lambda sf: getattr(sf, spec.object).deleted(start, cursor.signpost)
            )
        except ConnectorError as error:
            log.info("no deleted-records feed", extra={"object": spec.object, "error": str(error)})
            return Page([], resume=state.to_json())
        if since < start:
            log.warning(
                "deletions older than the feed's window cannot be seen; run a full sync",
                extra={"object": spec.object, "since": start.isoformat()},
            )
        tombstones = []
        for row in feed.get("deletedRecords") or []:
            try:
                deleted_at = parse_instant(str(row["deletedDate"]))
            except (KeyError, ValueError):
                continue
            tombstones.append(Record(str(row["id"]), deleted_at, {}, deleted=True, tombstone=True))
        checked_now = replace(state, deletions_checked_at=cursor.signpost)
        return Page(tombstones, resume=checked_now.to_json())


def _guarded(client: SalesforceClient, pages: Iterator[T]) -> Iterator[T]:
    """Bulk results with errors translated. Not retried: a failed generator cannot go on,
    and the stream's next run starts the load again."""
    try:
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except SalesforceError as error:
                raise client.translate(error) from None
            except requests.RequestException as error:
                raise client.unreachable(error) from None
            yield page
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()  # a load given up midway lets go of its connection at once


def _batch_size(spec: StreamSpec) -> dict[str, str]:
    return {"Sforce-Query-Options": f"batchSize={spec.page_size}"}


def _query_more(url: str, headers: dict[str, str]) -> Callable[[Any], dict[str, Any]]:
    def operation(sf: Any) -> dict[str, Any]:
        page: dict[str, Any] = sf.query_more(url, identifier_is_url=True, headers=headers)
        return page

    return operation
