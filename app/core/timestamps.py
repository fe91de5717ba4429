"""The one way a moment is written in a response: ISO 8601 with its UTC offset; and the age
of the data an answer rests on.

Pydantic writes an aware UTC datetime as `...Z`; our API and CLI have always written
`datetime.isoformat()` (`...+00:00`). Result models annotate their moments with `IsoDateTime`
so that both keep the shape clients already parse.

    class KeyPublic(BaseModel):
        created_at: IsoDateTime      # "2026-12-05T06:00:00+00:00"
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, PlainSerializer, WithJsonSchema

__all__ = ["DataAgeSeconds", "IsoDateTime"]


def _isoformat(moment: datetime) -> str:
    return moment.isoformat()


IsoDateTime = Annotated[
    datetime,
    PlainSerializer(_isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]

DataAgeSeconds = Annotated[
    float | None,
    Field(
        description="Seconds since the newest successful sync behind the answer finished, to "
        "a tenth: how old the CRM data is (null before any sync). `as_of` stays where that "
        "sync left the data clock; this grows until the next one. The `X-Data-Age-Seconds` "
        "header says the same."
    ),
]
"""Every KPI answer's last field; the API writes it when it sends the answer."""
