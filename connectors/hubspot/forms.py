"""Form submissions: every form's submissions, newest first, down to the cursor.

HubSpot lists forms with `GET /marketing/v3/forms` and gives each form's submissions with the v1
API, `GET /form-integrations/v1/submissions/forms/{guid}` (≤ 50 a page, newest first, `after`
tokens). A submission carries no id of the contact who sent it, only the values filled in, so
the reader looks the contacts up by e-mail address (`POST /crm/v3/objects/contacts/batch/read`
with `idProperty: email`, 100 a call) and stores the link as the record's `contacts`
association, in the shape every other stream keeps (`associations.canonical_associations`):
the mapping engine then attributes a submission through its contact like any engagement.

    {"conversionId": "…", "submittedAt": 1741083300000, "pageUrl": "…", "values": [...],
     "formId": "…", "formName": "Request a demo", "email": "ann@acme.example",
     "associations": {"contacts": {"results": [{"id": "2001", "type": "form_sub…_to_contact"}]}}}

Incremental: a form's walk stops at the first page that reaches back past the cursor's start
(the high-water mark less the lookback), and the cursor moves to the newest submission seen
once every form has been read, since no page in between is in time order across forms. A run
that stops half-way reads again from the same start: submissions are immutable, and the raw
layer stores only what changed. Submissions are never deleted by HubSpot's API, so the stream
has no deletions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connectors.core import CursorState, MalformedResponse, Page, Quarantined, Record, StreamSpec
from connectors.hubspot.associations import canonical_associations
from connectors.hubspot.paging import next_after, results
from connectors.hubspot.streams import FORMS_PAGE

if TYPE_CHECKING:
    from connectors.hubspot.client import HubSpotClient

__all__ = [
    "CONTACT_LINK",
    "contacts_by_email",
    "read_submissions",
    "submission_record",
    "submitted_email",
]

CONTACT_LINK = "form_submission_to_contact"
EMAIL_BATCH = 100


def submitted_email(submission: Mapping[str, Any]) -> str | None:
    """The e-mail address a submission was sent with (lower-case), if it has one."""
    values = submission.get("values")
    for item in values if isinstance(values, list) else []:
        if isinstance(item, dict) and item.get("name") == "email" and item.get("value"):
            return str(item["value"]).strip().lower()
    return None


def submission_record(
    form: Mapping[str, Any], submission: Any, contacts: Mapping[str, str]
) -> Record | Quarantined:
    """One submission as a record: the API's own fields, its form's id and name, the address it
    was sent with, and its contact (`contacts`: e-mail address -> contact id) when known."""
    if not isinstance(submission, dict):
        return Quarantined(None, "submission is not a JSON object", None)
    stamp = submission.get("submittedAt")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return Quarantined(None, f"submission without a submittedAt time ({stamp!r})", submission)
    modified = datetime.fromtimestamp(stamp / 1000, UTC)
    email = submitted_email(submission)
    external_id = submission.get("conversionId") or f"{form.get('id')}:{int(stamp)}:{email or ''}"
    payload = dict(submission)
    payload.update(formId=form.get("id"), formName=form.get("name"), email=email)
    contact = contacts.get(email) if email else None
    if contact is not None:
        payload["associations"] = canonical_associations(
            {"contacts": {"results": [{"id": contact, "type": CONTACT_LINK}]}}
        )
    return Record(str(external_id), modified, payload, False)


def _forms(client: HubSpotClient) -> list[dict[str, Any]]:
    forms: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        body = client.forms_page(limit=FORMS_PAGE, after=after)
        forms += [f for f in results(body, "forms list") if isinstance(f, dict) and f.get("id")]
        following = next_after(body)
        if following is None:
            return forms
        if following == after:
            raise MalformedResponse(f"HubSpot forms list returned the paging token {after!r} twice")
        after = following


def contacts_by_email(client: HubSpotClient, emails: Sequence[str]) -> dict[str, str]:
    """E-mail address (lower-case) -> contact id, for the addresses HubSpot has a contact for."""
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(emails))
    for start in range(0, len(unique), EMAIL_BATCH):
        for contact in client.batch_read(
            "contacts",
            unique[start : start + EMAIL_BATCH],
            properties=["email"],
            id_property="email",
        ):
            properties = contact.get("properties")
            email = properties.get("email") if isinstance(properties, dict) else None
            if email and contact.get("id") not in (None, ""):
                found[str(email).strip().lower()] = str(contact["id"])
    return found


def read_submissions(
    client: HubSpotClient, spec: StreamSpec, cursor: CursorState
) -> Iterator[Page]:
    """Every form's submissions at or after the cursor's start, one page per API page."""
    start = cursor.start_value
    start_ms = None if start is None else int(start.timestamp() * 1000)
    newest: datetime | None = None
    for form in _forms(client):
        after: str | None = None
        while True:
            body = client.form_submissions(str(form["id"]), limit=spec.page_size, after=after)
            found = [s for s in results(body, "form submissions") if isinstance(s, dict)]
            emails = [e for e in (submitted_email(s) for s in found) if e]
            contacts = contacts_by_email(client, emails) if emails else {}
            built = [submission_record(form, s, contacts) for s in found]
            records = [
                b
                for b in built
                if isinstance(b, Record)
                and (start_ms is None or b.modified_at.timestamp() * 1000 >= start_ms)
            ]
            for record in records:
                if newest is None or record.modified_at > newest:
                    newest = record.modified_at
            yield Page(records, [b for b in built if isinstance(b, Quarantined)])
            following = next_after(body)
            older = len(records) < len([b for b in built if isinstance(b, Record)])
            if following is None or older:
                break
            if following == after:
                raise MalformedResponse(
                    f"HubSpot form {form['id']} submissions returned the paging token "
                    f"{after!r} twice"
                )
            after = following
    yield Page([], high_water=newest)
