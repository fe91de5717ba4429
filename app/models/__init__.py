"""The domain schema (DESIGN.md). Alembic migrations in `migrations/` create it; this is its map."""

from app.models.auth import ApiKey, Role
from app.models.base import Base
from app.models.connections import CONNECTION_KINDS, Connection, ConnectionKind, StreamCursor
from app.models.crm import CrmOwner, Opportunity, Outcome
from app.models.events import MilestoneEvent, OpportunityState
from app.models.jobs import JOB_STATUSES, JobStatus, SyncJob, SyncSchedule, WebhookReceipt
from app.models.mapping import MappingCandidate, MappingCursor, OpportunityProcess
from app.models.raw import QuarantinedRecord, RawRecord
from app.models.rulesets import (
    Milestone,
    MilestoneKind,
    Process,
    RulesetActivation,
    RulesetVersion,
)
from app.models.sync import RunStatus, SyncRun, SyncRunStream
from app.models.targets import Target
from app.models.writeback import WritebackRecord, WritebackRun

__all__ = [
    "CONNECTION_KINDS",
    "JOB_STATUSES",
    "ApiKey",
    "Base",
    "Connection",
    "ConnectionKind",
    "CrmOwner",
    "JobStatus",
    "MappingCandidate",
    "MappingCursor",
    "Milestone",
    "MilestoneEvent",
    "MilestoneKind",
    "Opportunity",
    "OpportunityProcess",
    "OpportunityState",
    "Outcome",
    "Process",
    "QuarantinedRecord",
    "RawRecord",
    "Role",
    "RulesetActivation",
    "RulesetVersion",
    "RunStatus",
    "StreamCursor",
    "SyncJob",
    "SyncRun",
    "SyncRunStream",
    "SyncSchedule",
    "Target",
    "WebhookReceipt",
    "WritebackRecord",
    "WritebackRun",
]
