"""The one way a moment is written in a response: ISO 8601 with its UTC offset.

Pydantic writes an aware UTC datetime as `...Z`; our API and CLI have always written
`datetime.isoformat()` (`...+00:00`). Result models annotate their moments with `IsoDateTime`
so that both keep the shape clients already parse.

    class KeyPublic(BaseModel):
        created_at: IsoDateTime      # "2026-12-05T06:00:00+00:00"
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

__all__ = ["IsoDateTime"]


def _isoformat(moment: datetime) -> str:
    return moment.isoformat()


IsoDateTime = Annotated[
    datetime,
    PlainSerializer(_isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
