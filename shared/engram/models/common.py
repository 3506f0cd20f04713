"""Shared pieces of the API models: camelCase-tolerant requests, limits, paging."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AliasChoices, AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# Limits (DESIGN.md "API conventions"; every item stays well under DynamoDB's 400 KB).
MAX_TITLE = 500
MAX_KEY = 255
MAX_METADATA_BYTES = 10 * 1024
MAX_CONTEXT_BYTES = 64 * 1024
MAX_SUMMARY = 50_000
MAX_MESSAGE_CONTENT = 32_000
MAX_MESSAGES_PER_REQUEST = 50
MAX_LABEL = 128  # agent_id, project, namespace, tool names
MAX_TTL_SECONDS = 365 * 86400
MAX_JSON_DEPTH = 16

# The character rules, written once as patterns both Python's ``re`` and the ECMA-262 dialect of
# JSON Schema read alike (explicit ASCII classes, no ``\w``/``\s``): the validators below use them,
# and the OpenAPI document declares them, so a generated client checks what the server checks.
LABEL_PATTERN = r"^[A-Za-z0-9_:.@+/-]+$"
KEY_PATTERN = r"^(?!sess_)[A-Za-z0-9_:.@+-]+$"
SESSION_ID_PATTERN = r"^sess_[0-9A-HJKMNP-TV-Z]{26}$"
MEMORY_ID_PATTERN = r"^mem_[0-9A-HJKMNP-TV-Z]{26}$"
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # C0 controls and DEL, but tab, newline and carriage return
# Unicode White_Space, spelled out: Python's str.strip() also strips \x1c-\x1f, JSON Schema's \s does not.
_SPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_CONTROL_PATTERN = rf"^[^{_CONTROL}]*$"
NOT_BLANK_PATTERN = rf"[^{_SPACE}]"
TEXT_PATTERN = rf"^[^{_CONTROL}]*[^{_SPACE}{_CONTROL}][^{_CONTROL}]*$"  # not blank, no control characters
# RFC 3339 allows year 0000 and a leap second (:60); Python's datetime has neither, so neither is declared.
_DATE = r"(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}"
DATE_OR_DATETIME_PATTERN = (
    rf"^{_DATE}([Tt][0-9]{{2}}:[0-9]{{2}}:[0-5][0-9](\.[0-9]+)?([Zz]|[+-][0-9]{{2}}:[0-9]{{2}}))?$"
)

# Checked with fullmatch: in Python a final "$" also matches before a trailing newline, in JSON Schema not.
_LABEL_RE = re.compile(LABEL_PATTERN)
_KEY_CHARS_RE = re.compile(KEY_PATTERN.replace("(?!sess_)", ""))
_SESSION_ID_RE = re.compile(SESSION_ID_PATTERN)
_CONTROL_RE = re.compile(rf"[{_CONTROL}]")
_NOT_BLANK_RE = re.compile(NOT_BLANK_PATTERN)
_DATE_OR_DATETIME_RE = re.compile(DATE_OR_DATETIME_PATTERN)


def declared(pattern: str, **schema: Any) -> Any:
    """A rule of a validator below, declared in the JSON Schema (and so in the OpenAPI document)."""
    return Field(json_schema_extra={"pattern": pattern, **schema})


def _camel_aliases(field_name: str) -> AliasChoices:
    return AliasChoices(field_name, to_camel(field_name))


class RequestModel(BaseModel):
    """Request bodies accept snake_case and the seeds' camelCase; unknown fields are rejected."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        str_strip_whitespace=False,
        alias_generator=AliasGenerator(validation_alias=_camel_aliases),
    )


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _json_depth(value: Any, depth: int = 0) -> int:
    if depth > MAX_JSON_DEPTH:
        return depth
    if isinstance(value, dict):
        return max([_json_depth(v, depth + 1) for v in value.values()] or [depth + 1])
    if isinstance(value, list):
        return max([_json_depth(v, depth + 1) for v in value] or [depth + 1])
    return depth


def _bounded_json(limit: int, what: str) -> Any:
    def check(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        if size > limit:
            raise ValueError(f"{what} is {size} bytes; the limit is {limit} bytes")
        if _json_depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
        return value

    return AfterValidator(check)


def _label(value: str) -> str:
    if not _LABEL_RE.fullmatch(value):
        raise ValueError("may contain only letters, digits and _ : . @ + / -")
    return value


def _session_key(value: str) -> str:
    if not _KEY_CHARS_RE.fullmatch(value):
        raise ValueError("may contain only letters, digits and _ : . @ + - (URL-encode it in paths)")
    if value.startswith("sess_"):
        raise ValueError("must not start with 'sess_' (reserved for session ids)")
    return value


def _text(value: str) -> str:
    if _CONTROL_RE.search(value):
        raise ValueError("must not contain control characters")
    return value


def without_controls(value: str) -> str:
    """``value`` with each control character (those the text rules refuse) made a space."""
    return _CONTROL_RE.sub(" ", value)


def _not_blank(value: str) -> str:
    if not _NOT_BLANK_RE.search(value):
        raise ValueError("must not be blank")
    return value


def _session_id(value: str) -> str:
    if not _SESSION_ID_RE.fullmatch(value):
        raise ValueError("must be a session id (sess_ and 26 characters)")
    return value


def _date_or_datetime(value: str) -> str:
    from engram import clock

    try:
        if not _DATE_OR_DATETIME_RE.fullmatch(value):
            raise ValueError(value)
        clock.parse_iso(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time (2026-03-17T10:00:00Z) or date (2026-03-17)") from None
    return value


Metadata = Annotated[dict[str, Any], _bounded_json(MAX_METADATA_BYTES, "metadata")]
ContextObject = Annotated[dict[str, Any], _bounded_json(MAX_CONTEXT_BYTES, "context")]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL), declared(LABEL_PATTERN), AfterValidator(_label)]
SessionKey = Annotated[
    str, Field(min_length=1, max_length=MAX_KEY), declared(KEY_PATTERN), AfterValidator(_session_key)
]
SessionId = Annotated[
    str, Field(min_length=31, max_length=31), declared(SESSION_ID_PATTERN), AfterValidator(_session_id)
]
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE), declared(NO_CONTROL_PATTERN), AfterValidator(_text)]
DateOrDateTime = Annotated[
    str,
    Field(min_length=10, max_length=40),
    declared(DATE_OR_DATETIME_PATTERN, anyOf=[{"format": "date-time"}, {"format": "date"}]),
    AfterValidator(_date_or_datetime),
]
Summary = Annotated[str, Field(max_length=MAX_SUMMARY)]
Cursor = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="The next_cursor of the previous page, unchanged (cursors are checked: anything else is a 400)",
    ),
]
TtlSeconds = Annotated[int, Field(ge=1, le=MAX_TTL_SECONDS)]

T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
    has_more: bool = False
    total_count: int = 0
