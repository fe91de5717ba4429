"""Ruleset versions in the database: storing a validated file, loading a version to run it.

A version is immutable: its YAML text, checksum, processes and milestones (with the rules as
written) are stored once; the same text stored again is the same version. Each connection
has its own active version (`app.services.state.active`). `version_runtime` compiles a
stored version once per process and maps its process and milestone keys to row ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.caching import BoundedCache
from app.core.errors import InvalidRequestError, NotFoundError
from app.models import Connection, Milestone, Process, RawRecord, RulesetVersion
from mappings.catalog import SOURCES, STREAMS, Source
from mappings.compiler import CompiledRuleset, compile_ruleset
from mappings.diagnostics import Diagnostic
from mappings.model import Ruleset
from mappings.schema import parse_ruleset
from mappings.validate import FieldCatalog

__all__ = [
    "ConnectionInfo",
    "RulesetRejected",
    "VersionRuntime",
    "connection_fields",
    "connection_info",
    "connections_for",
    "store_version",
    "version_runtime",
]


class RulesetRejected(InvalidRequestError):
    """A rule file with errors: nothing is stored or activated; every diagnostic is kept."""

    title = "Invalid ruleset"

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        first = str(errors[0]) if errors else "invalid ruleset"
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(first + more)


@dataclass(frozen=True)
class ConnectionInfo:
    id: int
    name: str
    source: Source | None
    link_settings: dict[str, str]


def _source_of(connection: Connection, db: DbConnection | Session) -> Source | None:
    for source in SOURCES:
        if connection.kind == source:
            return source
    settings = connection.settings or {}
    declared = settings.get("crm") or settings.get("source")
    for source in SOURCES:
        if declared == source:
            return source
    stream = db.execute(
        select(RawRecord.stream).where(RawRecord.connection_id == connection.id).limit(1)
    ).scalar()
    for source in SOURCES:
        if (source, stream) in STREAMS:
            return source
    return None


def _link_settings(connection: Connection) -> dict[str, str]:
    settings: Mapping[str, Any] = connection.settings or {}
    found = {
        key: str(settings[key])
        for key in ("instance_url", "portal_id", "app_url")
        if settings.get(key)
    }
    token_url = str(settings.get("token_url") or "")
    if "instance_url" not in found and token_url.startswith("https://"):
        found["instance_url"] = "/".join(token_url.split("/")[:3])
    return found


def connection_info(session: Session, connection: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        connection.id, connection.name, _source_of(connection, session), _link_settings(connection)
    )


def connections_for(session: Session, name: str | None = None) -> list[ConnectionInfo]:
    """Every connection (or the one named), with the CRM its records come from."""
    query = select(Connection).order_by(Connection.id)
    if name is not None:
        query = query.where(Connection.name == name)
    found = [connection_info(session, c) for c in session.scalars(query)]
    if name is not None and not found:
        raise NotFoundError(f"no connection named {name!r}")
    return found


def _field_names(source: Source, stream: str, payload: Mapping[str, Any]) -> set[str]:
    info = STREAMS.get((source, stream))
    if info is not None and info.properties:
        properties = payload.get("properties")
        names = set(properties) if isinstance(properties, Mapping) else set()
        return names | {k for k in payload if k != "properties"}
    return {k for k in payload if k != "attributes"}


def connection_fields(
    session: Session, connections: Iterable[ConnectionInfo], sample: int = 200
) -> FieldCatalog:
    """The fields each stream has in these connections: from `settings.describe` when the
    connection carries one, else from the stored records of that stream (a recent sample).

    Streams with no data here are absent, so validation falls back to the built-in catalog.
    A stream's extra fields count as its own even before a sync has brought them in.
    """
    catalog: dict[tuple[Source, str], dict[str, str]] = {}
    for info in connections:
        if info.source is None:
            continue
        connection = session.get(Connection, info.id)
        describe = (connection.settings or {}).get("describe") if connection else None
        described: set[str] = set()
        if isinstance(describe, Mapping):
            for stream, fields in describe.items():
                names = fields if isinstance(fields, Mapping) else {f: None for f in fields or ()}
                target = catalog.setdefault((info.source, str(stream)), {})
                for name, meta in names.items():
                    kind = meta.get("type", "") if isinstance(meta, Mapping) else ""
                    target[str(name)] = str(kind)
                described.add(str(stream))
        streams = session.execute(
            select(RawRecord.stream).where(RawRecord.connection_id == info.id).distinct()
        ).scalars()
        for stream in streams:
            if stream in described or (info.source, stream) not in STREAMS:
                continue
            payloads = session.execute(
                select(RawRecord.payload)
                .where(RawRecord.connection_id == info.id, RawRecord.stream == stream)
                .order_by(RawRecord.modified_at.desc())  # the index order: no sort
                .limit(sample)
            ).scalars()
            known = STREAMS[(info.source, stream)]
            target = catalog.setdefault((info.source, stream), {})
            for payload in payloads:
                for name in _field_names(info.source, stream, payload):
                    kind = (
                        "datetime"
                        if name in known.datetime_fields
                        else "date"
                        if name in known.date_fields
                        else "other"
                        if name in known.fields
                        else ""
                    )
                    target.setdefault(name, kind)
        extra = (connection.settings or {}).get("extra_fields") if connection else None
        for stream, names in (extra if isinstance(extra, Mapping) else {}).items():
            if (info.source, stream) in catalog:  # pulled from the next sync on
                for name in names or ():
                    catalog[(info.source, stream)].setdefault(str(name), "")
    return catalog


# -- versions -------------------------------------------------------------------------------------


def store_version(
    session: Session,
    ruleset: Ruleset,
    source_text: str,
    created_by: str | None = None,
    note: str | None = None,
) -> RulesetVersion:
    """The version holding exactly this text, stored now if it is new."""
    existing = session.scalars(
        select(RulesetVersion)
        .where(RulesetVersion.checksum == ruleset.checksum)
        .order_by(RulesetVersion.version.desc())
    ).first()
    if existing is not None:
        return existing
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE ruleset_versions IN SHARE ROW EXCLUSIVE MODE"))
    number = (session.scalar(select(func.max(RulesetVersion.version))) or 0) + 1
    version = RulesetVersion(
        version=number,
        name=ruleset.name[:200],
        source=source_text,
        checksum=ruleset.checksum,
        created_by=created_by,
        note=note,
    )
    session.add(version)
    session.flush()
    for position, process in enumerate(ruleset.processes, start=1):
        row = Process(
            ruleset_version_id=version.id,
            key=process.key,
            name=process.name[:200],
            position=position,
            segment_selector={"source": process.source, "segment": process.segment_document},
            half_life_days=None if process.half_life_days is None else str(process.half_life_days),
        )
        session.add(row)
        session.flush()
        for index, milestone in enumerate(process.milestones, start=1):
            session.add(
                Milestone(
                    process_id=row.id,
                    key=milestone.key,
                    name=milestone.name[:200],
                    position=index,
                    kind=milestone.kind,
                    description=milestone.description,
                    guidance=milestone.guidance,
                    rules=[rule.document for rule in milestone.rules],
                    exception_reason=milestone.exception,
                )
            )
    session.flush()
    return version


@dataclass(frozen=True)
class VersionRuntime:
    """A stored version, compiled, with its keys mapped to row ids."""

    version_id: int
    version: int
    name: str
    ruleset: Ruleset
    compiled: CompiledRuleset
    process_ids: dict[str, int]
    milestone_ids: dict[tuple[str, str], int]

    def sources(self) -> set[Source]:
        return self.ruleset.sources()


_RUNTIMES = BoundedCache[tuple[str, int, str], VersionRuntime](
    "compiled ruleset versions: every mapping run and preview would compile its version again",
    size=32,
)


def version_runtime(session: Session, version_id: int) -> VersionRuntime:
    version = session.get(RulesetVersion, version_id)
    if version is None:
        raise NotFoundError(f"no ruleset version with id {version_id}")
    key = (
        str(session.get_bind().engine.url),
        version.id,
        f"{version.checksum}@{version.created_at.isoformat()}",
    )
    cached = _RUNTIMES.get(key)
    if cached is not None:
        return cached
    ruleset, diagnostics = parse_ruleset(version.source, f"ruleset version {version.version}")
    if ruleset is None:
        raise RulesetRejected(diagnostics)
    process_ids: dict[str, int] = {}
    milestone_ids: dict[tuple[str, str], int] = {}
    rows = session.execute(
        select(Process.key, Milestone.key, Process.id, Milestone.id)
        .join(Milestone, Milestone.process_id == Process.id)
        .where(Process.ruleset_version_id == version.id)
    )
    for process_key, milestone_key, process_id, milestone_id in rows:
        process_ids[process_key] = process_id
        milestone_ids[(process_key, milestone_key)] = milestone_id
    runtime = VersionRuntime(
        version.id,
        version.version,
        version.name,
        ruleset,
        compile_ruleset(ruleset),
        process_ids,
        milestone_ids,
    )
    _RUNTIMES.put(key, runtime)
    return runtime
