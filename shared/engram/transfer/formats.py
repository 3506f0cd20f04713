"""Reading import files: each record with the line it starts on, or the reason it is unusable.

- ``engram``: the NDJSON ``engram export`` writes, one object per line:
  ``{"kind": "header" | "session" | "message" | "memory" | "miss", ...}``.
- ``mem0``: the JSON of mem0's ``get_all`` (``{"results": [...]}`` or a bare list), or NDJSON.
- ``agentcore``: the JSON of Bedrock AgentCore Memory's ``ListMemoryRecords``
  (``{"memoryRecordSummaries": [...]}`` or a bare list), or NDJSON.

A foreign record becomes a batch item (``POST /v1/memories/batch``) whose ``external_id`` is the
source's id (``mem0:<id>``, ``agentcore:<memoryRecordId>``), so importing a file twice writes its
memories once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Format = Literal["engram", "mem0", "agentcore"]
FORMATS: tuple[Format, ...] = ("engram", "mem0", "agentcore")
EXPORT_FORMAT = "engram-export"
EXPORT_VERSION = 1
_LIST_KEYS = {"mem0": ("results", "memories"), "agentcore": ("memoryRecordSummaries", "memoryRecords", "records")}
_MEM0_TYPES = {"preference": "preference", "preferences": "preference", "goal": "goal", "goals": "goal"}


class Malformed(Exception):
    """A record that cannot be imported; ``line`` is where it starts in the file."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass
class Record:
    line: int
    kind: str  # session | message | memory | miss (engram); memory (foreign formats)
    data: dict[str, Any]
    session_id: str | None = None  # a message's session (engram)
    extra: dict[str, Any] = field(default_factory=dict)


def read(path: Path, fmt: Format, namespace: str | None = None) -> Iterator[Record | Malformed]:
    """Every record of the file, in order; a record that cannot be used is yielded as Malformed."""
    for line, raw in _objects(path, fmt):
        if isinstance(raw, Malformed):
            yield raw
            continue
        try:
            if fmt == "engram":
                record = _engram(line, raw)
            elif fmt == "mem0":
                record = _mem0(line, raw, namespace)
            else:
                record = _agentcore(line, raw, namespace)
        except Malformed as exc:
            yield exc
            continue
        if record is not None:
            yield record


# --- the file: JSON objects with their line numbers ------------------------------------------------


def _objects(path: Path, fmt: Format) -> Iterator[tuple[int, Any]]:
    text = path.read_text(encoding="utf-8")
    start = len(text) - len(text.lstrip())
    if fmt != "engram" and text[start : start + 1] in ("[", "{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None  # not one JSON document: NDJSON, read line by line below
        if document is not None and (isinstance(document, list) or _list_key(document, fmt)):
            yield from _array_items(text, fmt)
            return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, Malformed(number, f"not JSON ({exc.msg})")


def _list_key(document: Any, fmt: Format) -> str | None:
    if not isinstance(document, dict):
        return None
    return next((k for k in _LIST_KEYS.get(fmt, ()) if isinstance(document.get(k), list)), None)


def _array_items(text: str, fmt: Format) -> Iterator[tuple[int, Any]]:
    """The elements of the document's record list, each with the line it starts on."""
    decoder = json.JSONDecoder()
    document = json.loads(text)
    if isinstance(document, list):
        position = text.index("[")
    else:
        key = _list_key(document, fmt)
        position = _find_key_array(text, decoder, str(key))
    position += 1
    while True:
        position = _skip_space(text, position)
        if text[position] == "]":
            return
        value, end = decoder.raw_decode(text, position)
        yield text.count("\n", 0, position) + 1, value
        position = _skip_space(text, end)
        if text[position] == ",":
            position += 1


def _find_key_array(text: str, decoder: json.JSONDecoder, key: str) -> int:
    """Where the array of the top-level ``key`` starts (the document is one object)."""
    position = _skip_space(text, text.index("{") + 1)
    while text[position] != "}":
        name, position = decoder.raw_decode(text, position)
        position = _skip_space(text, position) + 1  # the colon
        position = _skip_space(text, position)
        if name == key:
            return position
        _, position = decoder.raw_decode(text, position)
        position = _skip_space(text, position)
        if text[position] == ",":
            position = _skip_space(text, position + 1)
    raise ValueError(f"no {key!r} list")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


# --- records ---------------------------------------------------------------------------------------


def _engram(line: int, raw: Any) -> Record | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        raise Malformed(line, "not an Engram export record (no 'kind')")
    kind = raw["kind"]
    if kind == "header":
        if raw.get("format") != EXPORT_FORMAT:
            raise Malformed(line, f"not an Engram export (format {raw.get('format')!r})")
        return None
    if kind not in ("session", "message", "memory", "miss"):
        raise Malformed(line, f"unknown record kind {kind!r}")
    data = raw.get("data")
    if not isinstance(data, dict):
        raise Malformed(line, "no 'data' object")
    if kind in ("session", "memory") and not isinstance(data.get("id"), str):
        raise Malformed(line, f"{kind} without an id")
    if kind == "memory" and not isinstance(data.get("text"), str):
        raise Malformed(line, "memory without text")
    if kind == "message" and not isinstance(raw.get("session_id"), str):
        raise Malformed(line, "message without a session_id")
    return Record(line, kind, data, session_id=raw.get("session_id"))


def _mem0(line: int, raw: Any, namespace: str | None) -> Record:
    if not isinstance(raw, dict):
        raise Malformed(line, "not a mem0 memory (expected an object)")
    memory_id, text = raw.get("id"), raw.get("memory")
    if not isinstance(memory_id, str | int) or not str(memory_id):
        raise Malformed(line, "mem0 memory without an 'id'")
    if not isinstance(text, str) or not text.strip():
        raise Malformed(line, "mem0 memory without 'memory' text")
    categories: list[Any] = raw["categories"] if isinstance(raw.get("categories"), list) else []
    extra: dict[str, Any] = raw["metadata"] if isinstance(raw.get("metadata"), dict) else {}
    source = {
        "system": "mem0",
        "id": str(memory_id),
        **{k: raw[k] for k in ("user_id", "agent_id", "run_id", "updated_at") if raw.get(k) is not None},
        **({"categories": categories} if categories else {}),
    }
    item: dict[str, Any] = {
        "text": text,
        "external_id": f"mem0:{memory_id}",
        "namespace": namespace or _label(raw.get("user_id")) or "default",
        "type": next((_MEM0_TYPES[c] for c in map(str, categories) if c in _MEM0_TYPES), "fact"),
        "metadata": {**extra, "source": source},
    }
    if raw.get("agent_id"):
        item["agent_id"] = str(raw["agent_id"])
    created = _time(raw.get("created_at"), line)
    if created:
        item["created_at"] = created
    return Record(line, "memory", item)


def _agentcore(line: int, raw: Any, namespace: str | None) -> Record:
    if not isinstance(raw, dict):
        raise Malformed(line, "not an AgentCore memory record (expected an object)")
    record_id = raw.get("memoryRecordId")
    content = raw.get("content")
    text = content.get("text") if isinstance(content, dict) else None
    if not isinstance(record_id, str) or not record_id:
        raise Malformed(line, "AgentCore record without a 'memoryRecordId'")
    if not isinstance(text, str) or not text.strip():
        raise Malformed(line, "AgentCore record without 'content.text'")
    namespaces = [str(n) for n in raw.get("namespaces") or [] if n]
    source: dict[str, Any] = {"system": "agentcore", "id": record_id}
    if namespaces:
        source["namespaces"] = namespaces
    if raw.get("memoryStrategyId"):
        source["strategy_id"] = raw["memoryStrategyId"]
    metadata = {
        k: (v.get("stringValue") if isinstance(v, dict) and "stringValue" in v else v)
        for k, v in (raw.get("metadata") or {}).items()
    }
    item: dict[str, Any] = {
        "text": text,
        "external_id": f"agentcore:{record_id}",
        "namespace": namespace or _label(namespaces[0].strip("/") if namespaces else None) or "default",
        "metadata": {**metadata, "source": source},
    }
    created = _time(raw.get("createdAt"), line)
    if created:
        item["created_at"] = created
    return Record(line, "memory", item)


def _label(value: Any) -> str | None:
    """A namespace from a source's scope (a user id, an AgentCore namespace path), if one fits."""
    if not isinstance(value, str) or not value or len(value) > 128:
        return None
    return value if all(c.isalnum() or c in "_:.@+/-" for c in value) else None


def _time(value: Any, line: int) -> str | None:
    """ISO-8601 (UTC when no offset is given) from an ISO string or epoch seconds."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            when = datetime.fromtimestamp(float(value), UTC)
        else:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise Malformed(line, f"unreadable time {str(value)[:40]!r}") from exc
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
