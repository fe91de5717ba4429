"""The CSV dialect of a Bulk API 2.0 job: the delimiter and line ending it asks for and names."""

from __future__ import annotations

from typing import Any

from sandbox.crm.errors import SalesforceError

__all__ = ["DELIMITERS", "LINE_ENDINGS", "csv_format", "csv_format_names"]

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def csv_format(body: dict[str, Any]) -> tuple[str, str]:
    """The (delimiter, line ending) a job's create request asks for."""
    delimiter = DELIMITERS.get(str(body.get("columnDelimiter", "COMMA")))
    ending = LINE_ENDINGS.get(str(body.get("lineEnding", "LF")))
    if delimiter is None or ending is None:
        raise SalesforceError(400, "INVALIDJOB", "Invalid columnDelimiter or lineEnding")
    return delimiter, ending


def csv_format_names(delimiter: str, ending: str) -> dict[str, str]:
    """A job's `lineEnding` and `columnDelimiter`, as its description names them."""
    return {
        "lineEnding": "CRLF" if ending == "\r\n" else "LF",
        "columnDelimiter": next(k for k, v in DELIMITERS.items() if v == delimiter),
    }
