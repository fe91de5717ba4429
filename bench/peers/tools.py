"""The peers: how each is configured, discovered, told its streams and run against the sandbox.

    peer = PEERS["tap-salesforce"]
    peer.config(info)            # what a user types into its config file, pointed at the sandbox
    peer.discover_args / peer.read_args(config, catalog)

Each peer gets what its README asks for and nothing more: credentials the sandbox accepts, a
start date before the history begins, the streams this project syncs (`STREAMS`). Settings a
user could leave out are left out, except where a variant says so in its name (Airbyte's
Salesforce slices). The base URL is redirected by `redirect.py`, not configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PEERS", "STREAMS", "Peer"]

START = "2022-01-01T00:00:00Z"  # the generated history begins in July 2022

# this project's streams, named as each peer names them
STREAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "salesforce": {
        "singer": (
            "User", "Account", "Contact", "Lead", "Opportunity", "OpportunityHistory",
            "OpportunityContactRole", "OpportunityStage", "Task", "Event", "EmailMessage",
        ),
    },
    "hubspot": {
        "singer": (
            "owners", "deal_pipelines", "companies", "contacts", "deals",
            "emails", "meetings", "calls", "notes", "tasks",
        ),
        "airbyte": (
            "owners", "deal_pipelines", "companies", "contacts", "deals",
            "engagements_emails", "engagements_meetings", "engagements_calls",
            "engagements_notes", "engagements_tasks",
        ),
    },
}  # fmt: skip
STREAMS["salesforce"]["airbyte"] = STREAMS["salesforce"]["singer"]

ORIGINS = {
    "salesforce": ("https://login.salesforce.com",),
    "hubspot": ("https://api.hubapi.com",),
}


def _tap_salesforce(info: dict[str, Any]) -> dict[str, Any]:
    sf = info["salesforce"]
    return {
        "client_id": sf["client_id"],
        "client_secret": sf["client_secret"],
        "refresh_token": sf["refresh_token"],
        "start_date": START,
        "api_type": "REST",
        "select_fields_by_default": True,
    }


def _airbyte_salesforce(step: str | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def config(info: dict[str, Any]) -> dict[str, Any]:
        sf = info["salesforce"]
        settings = {
            "auth_type": "Client",
            "client_id": sf["client_id"],
            "client_secret": sf["client_secret"],
            "refresh_token": sf["refresh_token"],
            "is_sandbox": False,
            "start_date": START,
        }
        if step is not None:
            settings["stream_slice_step"] = step
        return settings

    return config


def _tap_hubspot(info: dict[str, Any]) -> dict[str, Any]:
    return {"access_token": info["hubspot"]["access_token"], "start_date": START}


def _airbyte_hubspot(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "credentials": {
            "credentials_title": "Private App Credentials",
            "access_token": info["hubspot"]["access_token"],
        },
        "start_date": START,
    }


@dataclass(frozen=True)
class Peer:
    label: str
    package: str  # its requirements file and virtualenv
    crm: Literal["salesforce", "hubspot"]
    protocol: Literal["singer", "airbyte"]
    script: str  # its console script
    config: Callable[[dict[str, Any]], dict[str, Any]]
    catalog_flag: str = "--catalog"  # tap-salesforce still reads the older --properties

    @property
    def streams(self) -> tuple[str, ...]:
        return STREAMS[self.crm][self.protocol]

    def origins(self, info: dict[str, Any]) -> list[str]:
        """`--map` arguments for redirect.py: the CRM's public origin -> the sandbox."""
        target = (
            info["salesforce"]["instance_url"]
            if self.crm == "salesforce"
            else info["hubspot"]["base_url"]
        )
        return [f"{origin}={target}" for origin in ORIGINS[self.crm]]

    def discover_args(self, config: str) -> list[str]:
        if self.protocol == "singer":
            return ["--config", config, "--discover"]
        return ["discover", "--config", config]

    def read_args(self, config: str, catalog: str) -> list[str]:
        if self.protocol == "singer":
            return ["--config", config, self.catalog_flag, catalog]
        return ["read", "--config", config, "--catalog", catalog]


PEERS: dict[str, Peer] = {
    peer.label: peer
    for peer in (
        Peer("tap-salesforce", "tap-salesforce", "salesforce", "singer", "tap-salesforce",
             _tap_salesforce, catalog_flag="--properties"),
        Peer("airbyte-source-salesforce", "airbyte-source-salesforce", "salesforce", "airbyte",
             "source-salesforce", _airbyte_salesforce(None)),
        Peer("airbyte-source-salesforce (one slice)", "airbyte-source-salesforce", "salesforce",
             "airbyte", "source-salesforce", _airbyte_salesforce("P10000D")),
        Peer("meltano-tap-hubspot", "meltano-tap-hubspot", "hubspot", "singer", "tap-hubspot",
             _tap_hubspot),
        Peer("airbyte-source-hubspot", "airbyte-source-hubspot", "hubspot", "airbyte",
             "source-hubspot", _airbyte_hubspot),
    )
}  # fmt: skip
