"""One Bulk API 2.0 query job of the sandbox: its state, its description and its CSV pages.

A job runs its query when the first poll finds it queued, so it sees the data of that moment
as a real job does when it starts processing; it then answers InProgress, with a growing
`numberRecordsProcessed`, for more polls the more records it holds
(`SandboxConfig.bulk_polls`), and JobComplete after them. A `job_failed` fault whose path
names the job's object (`/jobs/query/<object>`) fails it at that first poll instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.crm.salesforce.bulk_csv import csv_format_names
from sandbox.crm.salesforce.jobs import description_head
from sandbox.crm.salesforce.soql_eval import CompiledQuery

__all__ = ["QueryJob"]


def _quote(cell: str, empty_is_null: bool) -> str:
    if cell == "" and empty_is_null:
        return ""
    return '"' + cell.replace('"', '""') + '"'


@dataclass
class QueryJob:
    id: str
    operation: str
    object_name: str
    query: CompiledQuery
    delimiter: str
    line_ending: str
    created: str
    version: str
    state: str = "UploadComplete"
    polls: int = 0
    polls_needed: int = 0
    rows: list[dict[str, Any]] | None = None
    error_message: str | None = None

    def processed(self) -> int:
        total = len(self.rows or [])
        if self.state != "InProgress" or self.polls_needed == 0:
            return total
        return total * (self.polls - 1) // self.polls_needed

    def describe(self, user_id: str) -> dict[str, Any]:
        body = {
            **description_head(self, user_id, self.created),
            **csv_format_names(self.delimiter, self.line_ending),
        }
        if self.state in ("InProgress", "JobComplete", "Aborted"):
            body.update(
                {
                    "jobType": "V2Query",
                    "numberRecordsProcessed": self.processed(),
                    "retries": 0,
                    "totalProcessingTime": 10,
                }
            )
        if self.state == "Failed":
            body["errorMessage"] = self.error_message
        return body

    def csv(self, rows: list[dict[str, Any]]) -> str:
        """The header and `rows` in the job's dialect (the caller holds the store's lock)."""
        sep, ending = self.delimiter, self.line_ending
        lines = [sep.join(_quote(h, False) for h in self.query.csv_header)]
        for row in rows:
            lines.append(sep.join(_quote(c, True) for c in self.query.csv_cells(row)))
        return ending.join(lines) + ending
