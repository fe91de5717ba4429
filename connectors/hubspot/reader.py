"""Reads HubSpot streams page by page: list walks, keyset searches, archived lists.

**First sync (and the periodic sweep): a list walk.** `GET /crm/v3/objects/{type}` at 100
per page (50 for deals, which carry the history of their stage, amount and close date),
associations inline, then the same walk with `archived=true`, whose records are stored as
soft deletes. The list is ordered by id, not by time, so the walk checkpoints its `after`
token in the cursor's `resume` and sets the high-water mark only at its end: to the newest
modification that existed when the walk began (one search, sorted descending, limit 1), so
that whatever changes during the walk is read by the next incremental run.

**Incremental syncs: keyset search.** `POST .../search` on `hs_lastmodifieddate` (contacts:
`lastmodifieddate`) GTE the cursor's frozen start, ascending, 200 per page. HubSpot's `after`
is an offset, capped at 10,000 results and unsafe while records move; so every page is a new
search window starting from the last timestamp seen (records at that exact timestamp that were
already read are skipped). No window ever comes near the cap, records modified mid-sync move
to the end instead of shifting pages, and a window that is all one timestamp (a bulk update of
more than a page) is read in id order (`hs_object_id GT last id`) before moving past it.
Search answers carry no associations, so for every 1,000 records found the reader asks the v4
batch endpoint once per associated type; deals are re-read in batches of 50 with their history.

**Associations that change without touching the record.** Linking an email to a deal does
not bump the email's modification date, so no search can see it. The reader re-walks each
stream's list (associations inline) every `association_sweep` (default 24 h); the raw layer
writes only the records whose payload changed.

**Deletions.** Archived records leave search; the `archived=true` list is walked on every
sweep and at most every `deletions_every` in between (default hourly).

**Property definitions** are read (`GET /crm/v3/properties/{type}`) when a walk starts and kept
in the stream's state; incremental runs reuse them, and a changed property list re-reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.core import (
    ConfigError,
    CursorState,
    MalformedResponse,
    Page,
    Quarantined,
    Record,
    StreamSpec,
)
from connectors.hubspot import paging
from connectors.hubspot.associations import canonical_associations
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.forms import read_submissions
from connectors.hubspot.resume import ArchivedTail, DescribedProperties, HubSpotResume, ListWalk
from connectors.hubspot.streams import SEARCH_PAGE, HubSpotStream, stream_info
from crm import instant_or_none

__all__ = ["HubSpotReader", "epoch_ms"]

log = logging.getLogger(__name__)

HISTORY_BATCH = 50
ASSOCIATION_BATCH = 1000
OWNERS_PAGE = 500


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class HubSpotReader:
    """`StreamReader` for HubSpot; one per run, sharing the run's client."""

    def __init__(
        self,
        client: HubSpotClient,
        *,
        strict_fields: frozenset[str] = frozenset(),
        custom_properties: bool = True,
        association_sweep: timedelta | None = timedelta(hours=24),
        deletions_every: timedelta = timedelta(hours=1),
        search_page: int = SEARCH_PAGE,
        association_batch: int = ASSOCIATION_BATCH,
        exclude_properties: frozenset[str] = frozenset(),
    ) -> None:
        self.client = client
        self._strict = strict_fields
        self._custom = custom_properties
        self._exclude = exclude_properties
        self._sweep = association_sweep
        self._deletions_every = deletions_every
        self._search_page = search_page
        self._association_batch = association_batch

    def close(self) -> None:
        self.client.close()

    # -- properties -----------------------------------------------------------------------------
    def resolve_properties(self, spec: StreamSpec) -> list[str]:
        """The spec's properties that this portal has (a missing configured one is an error),
        plus the portal's own custom properties when `custom_properties` is on."""
        described = {str(p.get("name")): p for p in self.client.properties(spec.object)}
        missing = [name for name in spec.fields if name not in described]
        required = [n for n in missing if n in self._strict or n in spec.required_fields]
        if required:
            raise ConfigError(
                f"HubSpot {spec.object} has no propert{'y' if len(required) == 1 else 'ies'} "
                f"{', '.join(required)} (or the app cannot read them): fix the connection's "
                "extra_fields or the app's scopes"
            )
        if missing:
            log.debug(
                "properties this portal lacks are skipped",
                extra={"object": spec.object, "properties": missing},
            )
        chosen = [name for name in spec.fields if name in described]
        if self._custom:
            chosen += [
                name
                for name, prop in described.items()
                if prop.get("hubspotDefined") is False
                and not prop.get("archived")
                and name not in self._exclude  # what this product writes is never read back
            ]
        return list(dict.fromkeys(chosen))

    # -- records --------------------------------------------------------------------------------
    def to_record(
        self, spec: StreamSpec, obj: Any, associations: Any = None
    ) -> Record | Quarantined:
        """A v3 object as a record; `associations` replaces the object's own when given."""
        if not isinstance(obj, dict):
            return Quarantined(None, "record is not a JSON object", None)
        external_id = obj.get("id")
        if external_id in (None, ""):
            return Quarantined(None, "missing id", obj)
        properties = obj.get("properties")
        if not isinstance(properties, dict):
            return Quarantined(str(external_id), "missing properties object", obj)
        stamp = properties.get(spec.cursor_field) or obj.get("updatedAt")
        modified = instant_or_none(stamp)
        if modified is None:
            reason = f"missing or unreadable {spec.cursor_field} / updatedAt {stamp!r}"
            return Quarantined(str(external_id), reason, obj)
        deleted = obj.get("archived") is True
        if deleted:
            archived_at = instant_or_none(obj.get("archivedAt"))
            if archived_at is not None and archived_at > modified:
                modified = archived_at
        payload = dict(obj)
        links = canonical_associations(
            associations if associations is not None else obj.get("associations")
        )
        if links is None:
            payload.pop("associations", None)
        else:
            payload["associations"] = links
        return Record(str(external_id), modified, payload, deleted)

    def _page(
        self,
        spec: StreamSpec,
        objects: Sequence[Any],
        associations: dict[str, dict[str, Any]] | None = None,
        *,
        high_water: datetime | None = None,
        resume: dict[str, Any] | None = None,
        quarantined: Sequence[Quarantined] = (),
    ) -> Page:
        records: list[Record] = []
        rejected = list(quarantined)
        for obj in objects:
            links = None
            if associations is not None and isinstance(obj, dict):
                links = associations.get(str(obj.get("id")), {})
            built = self.to_record(spec, obj, links)
            if isinstance(built, Record):
                records.append(built)
            else:
                rejected.append(built)
        return Page(records, rejected, high_water=high_water, resume=resume or {})

    # -- the loop -------------------------------------------------------------------------------
    def pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]:
        if spec.name == "owners":
            yield from self._owners(spec)
        elif spec.name == "pipelines":
            yield from self._pipelines(spec)
        elif spec.name == "form_submissions":
            yield from read_submissions(self.client, spec, cursor)
        else:
            yield from self._object_pages(spec, cursor)

    def _due(self, last: datetime | None, every: timedelta | None, now: datetime) -> bool:
        if every is None:
            return False
        return last is None or now - last >= every

    def _properties(
        self, spec: StreamSpec, kept: HubSpotResume, fresh: bool
    ) -> tuple[list[str], HubSpotResume]:
        """The properties to read: described afresh for a new walk (and kept in the stream's
        state), else as last described, so that an incremental run spends no call on them."""
        described = kept.described
        wanted = (*spec.fields, *(f"-{name}" for name in sorted(self._exclude)))
        if not fresh and described is not None and described.wanted == wanted:
            return list(described.names), kept
        names = self.resolve_properties(spec)
        return names, replace(kept, described=DescribedProperties(wanted, tuple(names)))

    def _object_pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]:
        info = stream_info(spec.name)
        state = HubSpotResume.from_json(cursor.resume)
        now = cursor.signpost
        if state.walk is not None:
            properties, kept = self._properties(spec, state.kept(), fresh=False)
            yield from self._walk(spec, info, properties, state.walk, kept, now)
            return
        start = cursor.start_value
        new_walk = start is None or self._due(state.swept_at, self._sweep, now)
        properties, kept = self._properties(spec, state.kept(), fresh=new_walk)
        if new_walk or start is None:
            walk = ListWalk(mark=self._newest(spec))
            yield from self._walk(spec, info, properties, walk, kept, now)
            return
        tail = state.tail
        if tail is None:
            yield from self._search(spec, info, properties, start, kept)
            if not self._due(kept.archived_at, self._deletions_every, now):
                return
            tail = ArchivedTail()
        yield from self._archived_tail(spec, info, properties, tail, kept, now)

    # -- list walks -----------------------------------------------------------------------------
    def _newest(self, spec: StreamSpec) -> datetime | None:
        """The newest modification time in the portal now (the mark a walk ends at)."""
        body = self.client.search(
            spec.object,
            {
                "sorts": [{"propertyName": spec.cursor_field, "direction": "DESCENDING"}],
                "properties": [spec.cursor_field],
                "limit": 1,
            },
        )
        for obj in paging.results(body, f"{spec.object} search"):
            if isinstance(obj, dict) and isinstance(obj.get("properties"), dict):
                newest = instant_or_none(obj["properties"].get(spec.cursor_field))
                if newest is not None:
                    return newest
        return None

    def _list(
        self,
        spec: StreamSpec,
        info: HubSpotStream,
        properties: list[str],
        after: str | None,
        archived: bool,
    ) -> tuple[list[Any], dict[str, dict[str, Any]], str | None]:
        """One list page: its objects, their complete associations, the next `after`."""
        body = self.client.list_page(
            spec.object,
            limit=spec.page_size,
            after=after,
            properties=properties,
            history=info.history,
            associations=info.associations,
            archived=archived,
        )
        objects = paging.results(body, f"{spec.object} list")
        next_after = paging.next_after(body)
        if next_after is not None and next_after == after:
            raise MalformedResponse(
                f"HubSpot {spec.object} list returned the same paging token {after!r} twice"
            )
        links: dict[str, dict[str, Any]] = {}
        truncated: dict[str, list[str]] = {}
        for obj in objects:
            if not isinstance(obj, dict) or obj.get("id") in (None, ""):
                continue
            ident = str(obj["id"])
            groups = obj.get("associations")
            links[ident] = dict(groups) if isinstance(groups, dict) else {}
            for to_type, group in links[ident].items():
                if isinstance(group, dict) and paging.next_after(group) is not None:
                    truncated.setdefault(str(to_type), []).append(ident)
        for to_type, ids in truncated.items():  # more links than the list shows inline
            complete = self.client.association_links(spec.object, to_type, ids)
            for ident in ids:
                links[ident][to_type] = {"results": complete.get(ident, [])}
        return objects, links, next_after

    def _walk(
        self,
        spec: StreamSpec,
        info: HubSpotStream,
        properties: list[str],
        walk: ListWalk,
        kept: HubSpotResume,
        now: datetime,
    ) -> Iterator[Page]:
        archived, after, seen = walk.archived, walk.after, walk.seen
        while True:
            objects, links, next_after = self._list(spec, info, properties, after, archived)
            page = self._page(spec, objects, links)
            newest = max((r.modified_at for r in page.records if not r.deleted), default=None)
            if newest is not None and (seen is None or newest > seen):
                seen = newest
            if next_after is not None or not archived:
                after, archived = (next_after, archived) if next_after else (None, True)
                under_way = ListWalk(archived, after, walk.mark, seen)
                page.resume = replace(kept, walk=under_way).to_json()
                yield page
                continue
            page.high_water = walk.mark or seen
            page.resume = replace(kept, swept_at=now, archived_at=now).to_json()
            yield page
            return

    def _archived_tail(
        self,
        spec: StreamSpec,
        info: HubSpotStream,
        properties: list[str],
        tail: ArchivedTail,
        kept: HubSpotResume,
        now: datetime,
    ) -> Iterator[Page]:
        after = tail.after
        while True:
            objects, links, next_after = self._list(spec, info, properties, after, True)
            page = self._page(spec, objects, links)
            if next_after is None:
                page.resume = replace(kept, archived_at=now).to_json()
                yield page
                return
            page.resume = replace(kept, tail=ArchivedTail(next_after)).to_json()
            yield page
            after = next_after

    # -- keyset search --------------------------------------------------------------------------
    def _window(
        self, spec: StreamSpec, properties: list[str], filters: list[dict[str, Any]], sort: str
    ) -> tuple[list[tuple[int, dict[str, Any]]], list[Quarantined], bool]:
        """One search: (timestamp ms, object) in order, unreadable ones, whether more follow."""
        body = self.client.search(
            spec.object,
            {
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": properties,
                "limit": self._search_page,
            },
        )
        found: list[tuple[int, dict[str, Any]]] = []
        rejected: list[Quarantined] = []
        for obj in paging.results(body, f"{spec.object} search"):
            stamp = None
            if isinstance(obj, dict) and isinstance(obj.get("properties"), dict):
                stamp = instant_or_none(obj["properties"].get(spec.cursor_field))
            if stamp is None or not isinstance(obj, dict) or obj.get("id") in (None, ""):
                built = self.to_record(spec, obj)
                if isinstance(built, Quarantined):
                    rejected.append(built)
                continue
            found.append((epoch_ms(stamp), obj))
        return found, rejected, paging.next_after(body) is not None

    def _found(
        self, spec: StreamSpec, properties: list[str], start: datetime
    ) -> Iterator[tuple[list[tuple[int, dict[str, Any]]], list[Quarantined]]]:
        """Every record modified at or after `start`, each once, in timestamp order."""
        field = spec.cursor_field
        boundary, inclusive = epoch_ms(start), True
        at_boundary: set[str] = set()
        while True:
            operator = "GTE" if inclusive else "GT"
            found, rejected, more = self._window(
                spec,
                properties,
                [{"propertyName": field, "operator": operator, "value": str(boundary)}],
                field,
            )
            fresh = [
                (ms, o) for ms, o in found if ms != boundary or str(o["id"]) not in at_boundary
            ]
            yield fresh, rejected
            if not more:
                return
            if not found:
                raise MalformedResponse(
                    f"HubSpot {spec.object} search pages on without readable {field} values"
                )
            last = found[-1][0]
            if last == boundary:  # a whole page at one timestamp: read it in id order
                seen = at_boundary | {str(o["id"]) for _ms, o in found}
                yield from self._tie(spec, properties, boundary, seen)
                inclusive, at_boundary = False, set()
                continue
            boundary, inclusive = last, True
            at_boundary = {str(o["id"]) for ms, o in found if ms == last}

    def _tie(
        self, spec: StreamSpec, properties: list[str], stamp: int, seen: set[str]
    ) -> Iterator[tuple[list[tuple[int, dict[str, Any]]], list[Quarantined]]]:
        last_id = 0
        while True:
            found, rejected, more = self._window(
                spec,
                properties,
                [
                    {"propertyName": spec.cursor_field, "operator": "EQ", "value": str(stamp)},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
                ],
                "hs_object_id",
            )
            yield [(ms, o) for ms, o in found if str(o["id"]) not in seen], rejected
            ids = [int(o["id"]) for _ms, o in found if str(o["id"]).isdigit()]
            if not more or not ids or max(ids) <= last_id:
                return
            last_id = max(ids)

    def _search(
        self,
        spec: StreamSpec,
        info: HubSpotStream,
        properties: list[str],
        start: datetime,
        kept: HubSpotResume,
    ) -> Iterator[Page]:
        wanted = [spec.cursor_field] if info.history else properties
        buffered: list[tuple[int, dict[str, Any]]] = []
        rejected: list[Quarantined] = []
        batch = self._association_batch
        for found, quarantined in self._found(spec, wanted, start):
            buffered += found
            rejected += quarantined
            while len(buffered) >= batch:  # exactly one association read per type and page
                yield self._enrich(spec, info, properties, buffered[:batch], rejected, kept)
                buffered, rejected = buffered[batch:], []
        if buffered or rejected:
            yield self._enrich(spec, info, properties, buffered, rejected, kept)

    def _enrich(
        self,
        spec: StreamSpec,
        info: HubSpotStream,
        properties: list[str],
        found: list[tuple[int, dict[str, Any]]],
        rejected: list[Quarantined],
        kept: HubSpotResume,
    ) -> Page:
        """Search results as a page: with history re-read where needed, and associations."""
        high_water = (
            datetime.fromtimestamp(max(ms for ms, _o in found) / 1000, UTC) if found else None
        )
        objects: list[Any] = [obj for _ms, obj in found]
        ids = list(dict.fromkeys(str(obj["id"]) for obj in objects))
        if info.history and ids:
            objects = []
            for start in range(0, len(ids), HISTORY_BATCH):
                objects += self.client.batch_read(
                    spec.object,
                    ids[start : start + HISTORY_BATCH],
                    properties=properties,
                    history=info.history,
                )
        links: dict[str, dict[str, Any]] = {ident: {} for ident in ids}
        for to_type in info.associations if ids else ():
            for start in range(0, len(ids), self._association_batch):
                chunk = ids[start : start + self._association_batch]
                for ident, items in self.client.association_links(
                    spec.object, to_type, chunk
                ).items():
                    if ident in links:
                        links[ident][to_type] = {"results": items}
        return self._page(
            spec, objects, links, high_water=high_water, resume=kept.to_json(), quarantined=rejected
        )

    # -- reference data -------------------------------------------------------------------------
    def _owner_record(self, owner: Any) -> Record | Quarantined:
        if not isinstance(owner, dict) or owner.get("id") in (None, ""):
            return Quarantined(
                None, "owner without an id", owner if isinstance(owner, dict) else None
            )
        modified = instant_or_none(owner.get("updatedAt")) or instant_or_none(
            owner.get("createdAt")
        )
        if modified is None:
            return Quarantined(str(owner["id"]), "owner without a readable updatedAt", owner)
        return Record(str(owner["id"]), modified, owner, owner.get("archived") is True)

    def _owners(self, spec: StreamSpec) -> Iterator[Page]:
        for archived in (False, True):
            after: str | None = None
            while True:
                body = self.client.owners_page(limit=spec.page_size, after=after, archived=archived)
                built = [self._owner_record(o) for o in paging.results(body, "owners list")]
                yield Page(
                    [b for b in built if isinstance(b, Record)],
                    [b for b in built if isinstance(b, Quarantined)],
                )
                next_after = paging.next_after(body)
                if next_after is None or next_after == after:
                    break
                after = next_after

    def _pipelines(self, spec: StreamSpec) -> Iterator[Page]:
        body = self.client.pipelines(spec.object)
        records: list[Record] = []
        rejected: list[Quarantined] = []
        for pipeline in paging.results(body, f"{spec.object} pipelines"):
            if not isinstance(pipeline, dict) or pipeline.get("id") in (None, ""):
                rejected.append(Quarantined(None, "pipeline without an id", None))
                continue
            stages = pipeline.get("stages")
            stages = stages if isinstance(stages, list) else []
            stamps = [
                instant_or_none(pipeline.get("updatedAt")),
                instant_or_none(pipeline.get("createdAt")),
            ]
            stamps += [instant_or_none(s.get("updatedAt")) for s in stages if isinstance(s, dict)]
            modified = max((s for s in stamps if s is not None), default=None)
            if modified is None:
                rejected.append(
                    Quarantined(str(pipeline["id"]), "pipeline without a timestamp", pipeline)
                )
                continue
            records.append(
                Record(str(pipeline["id"]), modified, pipeline, pipeline.get("archived") is True)
            )
        yield Page(records, rejected)
