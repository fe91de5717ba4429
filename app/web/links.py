"""Links that open a record in its CRM, per connection (the rule engine's `deep_link`)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.database import Database
from app.services.mapping.rulesets import connections_for
from mappings.catalog import deep_link

__all__ = ["CrmLinks", "crm_links"]

OPPORTUNITY_STREAM = {"salesforce": "Opportunity", "hubspot": "deals"}


@dataclass(frozen=True)
class CrmLinks:
    by_connection: dict[str, tuple[str | None, dict[str, str]]]

    def opportunity(self, connection: str | None, external_id: str) -> str | None:
        source, settings = self.by_connection.get(connection or "", (None, {}))
        if source is None:
            return None
        return deep_link(source, OPPORTUNITY_STREAM[source], external_id, settings)  # type: ignore[arg-type]


def crm_links(database: Database) -> CrmLinks:
    with database.sessions() as session:
        found = connections_for(session)
    return CrmLinks({c.name: (c.source, c.link_settings) for c in found})
