"""What `preview_file` answers: per milestone, what a rule file would match in the stored
records, with examples and their evidence, and how that differs from the active version.

`POST /api/v1/mappings/preview` and `milestones mappings preview --json` print this report.
"""

from __future__ import annotations

from pydantic import BaseModel

from app.core.timestamps import IsoDateTime
from app.services.mapping.public import DiagnosticPublic

__all__ = [
    "ChangeCounts",
    "EventChange",
    "EventExample",
    "EvidenceLink",
    "EvidenceRef",
    "MilestonePreview",
    "OpportunityRef",
    "PreviewChanges",
    "PreviewDifference",
    "PreviewReport",
    "ProcessPreview",
]


class OpportunityRef(BaseModel):
    external_id: str
    name: str | None


class EvidenceLink(BaseModel):
    """The record that proves a milestone, and a link that opens it in the CRM."""

    connection: str
    stream: str
    external_id: str
    url: str


class EventExample(BaseModel):
    occurred_at: IsoDateTime
    rule: str
    opportunity: OpportunityRef
    evidence: EvidenceLink


class ChangeCounts(BaseModel):
    added: int
    removed: int
    moved: int


class MilestonePreview(BaseModel):
    key: str
    name: str
    kind: str
    records_matched: int
    events: int
    opportunities: int
    examples: list[EventExample]
    difference: ChangeCounts


class ProcessPreview(BaseModel):
    key: str
    name: str
    source: str
    milestones: list[MilestonePreview]


class EvidenceRef(BaseModel):
    stream: str
    external_id: str


class EventChange(BaseModel):
    """An event the file adds, removes or moves (`was`: when the active version has it)."""

    opportunity: str
    process: str
    milestone: str
    evidence: EvidenceRef
    occurred_at: IsoDateTime | None
    was: IsoDateTime | None


class PreviewChanges(BaseModel):
    added: list[EventChange]
    removed: list[EventChange]
    moved: list[EventChange]


class PreviewDifference(ChangeCounts):
    compared_with: dict[str, int]
    """Each connection's active version (by connection name) the difference is taken from."""
    examples: PreviewChanges


class PreviewReport(BaseModel):
    ruleset: str
    checksum: str
    connections: list[str]
    records_scanned: int
    active_versions: dict[str, int]
    """The version active on each connection (by name); absent where none is."""
    warnings: list[DiagnosticPublic]
    processes: list[ProcessPreview]
    difference: PreviewDifference
