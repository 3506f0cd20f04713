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

_LABEL_RE = re.compile(r"^[\w:.@+/-]+$", re.ASCII)
_KEY_RE = re.compile(r"^[\w:.@+-]+$", re.ASCII)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    if not _LABEL_RE.match(value):
        raise ValueError("may contain only letters, digits and _ : . @ + / -")
    return value


def _session_key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise ValueError("may contain only letters, digits and _ : . @ + - (URL-encode it in paths)")
    if value.startswith("sess_"):
        raise ValueError("must not start with 'sess_' (reserved for session ids)")
    return value


def _text(value: str) -> str:
    if _CONTROL_RE.search(value):
        raise ValueError("must not contain control characters")
    return value


Metadata = Annotated[dict[str, Any], _bounded_json(MAX_METADATA_BYTES, "metadata")]
ContextObject = Annotated[dict[str, Any], _bounded_json(MAX_CONTEXT_BYTES, "context")]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL), AfterValidator(_label)]
SessionKey = Annotated[str, Field(min_length=1, max_length=MAX_KEY), AfterValidator(_session_key)]
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE), AfterValidator(_text)]
Summary = Annotated[str, Field(max_length=MAX_SUMMARY)]
TtlSeconds = Annotated[int, Field(ge=1, le=MAX_TTL_SECONDS)]

T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
    has_more: bool = False
    total_count: int = 0
