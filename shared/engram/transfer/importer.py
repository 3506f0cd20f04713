"""``engram import``: records from a file into the key's tenant, through the API.

Memories go through ``POST /v1/memories/batch`` (100 at a time) with their source id as
``external_id``, so a second import of the same file writes nothing. Sessions (Engram format) are
found or created by key (``import:<source id>`` when they had none), their missing messages
appended, and ended if they had ended; memories follow their session to its new id. Misses
already present are not logged again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from engram.progress import Progress
from engram.transfer.formats import Malformed, Record
from engram_client import Engram, EngramError, NotFound, models

BATCH_SIZE = 100
BATCH_BYTES = 900_000  # request bodies are refused over 1 MB: 100 long memories must go in several calls
MESSAGES_PER_CALL = 50
_SESSION_FIELDS = ("agent_id", "namespace", "project", "title", "metadata", "context")


class Stop(Exception):
    """``--strict``: the first record that cannot be imported stops the import."""


@dataclass
class Report:
    counts: Counter[str] = field(default_factory=Counter)  # created / existing / skipped, per kind
    problems: list[str] = field(default_factory=list)
    seconds_in_batch: float = 0.0

    def problem(self, line: int, reason: str) -> None:
        self.problems.append(f"line {line}: {reason}")


class Importer:
    def __init__(
        self,
        client: Engram | None,
        *,
        strict: bool = False,
        progress: Progress,
        clock: Callable[[], float],
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.client = client  # None: --dry-run, nothing is sent
        self.strict = strict
        self.batch_size = max(1, min(BATCH_SIZE, batch_size))
        self.progress = progress
        self.report = Report()
        self._clock = clock
        self._sessions: dict[str, str] = {}  # source session id -> id in this tenant
        self._pending: list[Record] = []
        self._pending_bytes = 0
        self._messages: dict[str, list[Record]] = {}
        self._known_misses: set[tuple[Any, ...]] | None = None
        self._pending_session: Record | None = None

    def run(self, records: Iterable[Record | Malformed]) -> Report:
        for record in records:
            if isinstance(record, Malformed):
                self._skip(record.line, record.reason, "malformed")
                continue
            if record.kind == "session":
                self._flush_memories()
                self._import_session(record)
            elif record.kind == "message":
                self._messages.setdefault(str(record.session_id), []).append(record)
            elif record.kind == "memory":
                self._finish_sessions()
                self._queue_memory(record)
            elif record.kind == "miss":
                self._finish_sessions()
                self._flush_memories()
                self._import_miss(record)
        self._finish_sessions()
        self._flush_memories()
        return self.report

    # --- memories ----------------------------------------------------------------------------------

    def _queue_memory(self, record: Record) -> None:
        item = record.data if record.extra.get("ready") else self._memory_item(record)
        try:
            models.BatchMemory.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self._skip(record.line, f"invalid memory ({where}: {first['msg']})", "memory")
            return
        record.data, record.extra["ready"] = item, True
        size = len(json.dumps(item, ensure_ascii=False).encode())
        if self._pending and self._pending_bytes + size > BATCH_BYTES:
            self._flush_memories()
        self._pending.append(record)
        self._pending_bytes += size
        if len(self._pending) >= self.batch_size:
            self._flush_memories()

    def _memory_item(self, record: Record) -> dict[str, Any]:
        """An Engram-format memory as a batch item (foreign formats arrive as items already)."""
        data = record.data
        if "memory" in data or "external_id" in data:  # already a batch item (mem0, agentcore)
            return data
        item: dict[str, Any] = {"external_id": data["id"], "text": data["text"]}
        for name in ("title", "context", "namespace", "type", "tier", "entities", "metadata", "agent_id", "created_at"):
            if data.get(name) not in (None, "", [], {}):
                item[name] = data[name]
        session = data.get("session_id")
        if session:
            item["session_id"] = self._sessions.get(session, session)
        source = data.get("source")
        if isinstance(source, dict) and any(v is not None for v in source.values()):
            item["source"] = {**source, "session_id": self._sessions.get(source.get("session_id") or "", None)}
            item["source"] = {k: v for k, v in item["source"].items() if v is not None}
        if data.get("locked"):
            record.extra["lock"] = data.get("tier")
        return item

    def _flush_memories(self) -> None:
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if not pending:
            return
        if self.client is None:
            self.report.counts["memory would import"] += len(pending)
            self.progress.update(len(pending))
            return
        started = self._clock()
        out = self.client.memories.batch_create([r.data for r in pending])
        self.report.seconds_in_batch += self._clock() - started
        for record, result in zip(pending, out.results, strict=True):
            if result.status == "failed":
                error = result.error
                reason = f"{error.code}: {error.message}" if error else "failed"
                self._skip(record.line, f"memory not imported ({reason})", "memory")
                continue
            self.report.counts[f"memory {result.status}"] += 1
            lock = record.extra.get("lock")
            if lock and result.status == "created" and result.id:
                self.client.memories.lock(result.id, lock)
        self.progress.update(len(pending))

    # --- sessions and messages ---------------------------------------------------------------------

    def _import_session(self, record: Record) -> None:
        self._finish_sessions()
        self._pending_session = record

    def _finish_sessions(self) -> None:
        record = self._pending_session
        if record is None:
            return
        self._pending_session = None
        data = record.data
        messages = self._messages.pop(data["id"], [])
        self.progress.update(1 + len(messages))
        if self.client is None:
            self.report.counts["session would import"] += 1
            self._count("message would import", len(messages))
            self._sessions[data["id"]] = data["id"]
            return
        try:
            self._write_session(data, messages)
        except EngramError as exc:
            self._skip(record.line, f"session not imported ({exc})", "session")

    def _write_session(self, data: dict[str, Any], messages: list[Record]) -> None:
        client = self.client
        assert client is not None
        try:
            existing = client.sessions.get(data["id"])  # this tenant already has it (a restore)
        except NotFound:
            existing = None
        if existing is None:
            key = data.get("key") or f"import:{data['id']}"
            fields = {k: data[k] for k in _SESSION_FIELDS if data.get(k) not in (None, {}, [])}
            existing = client.sessions.get_or_create(key, **fields)
        self._sessions[data["id"]] = existing.id
        self.report.counts["session created" if existing.created else "session existing"] += 1
        missing = messages[existing.message_count :]
        if missing and existing.status != "active":
            self.report.problem(messages[0].line, f"session {data['id']} is {existing.status}: messages not appended")
            missing = []
        for chunk in _chunks(missing, MESSAGES_PER_CALL):
            client.sessions.messages.add(existing.id, [_message(m.data) for m in chunk])
        self._count("message created", len(missing))
        self._count("message existing", len(messages) - len(missing))
        if data.get("status") in ("ended", "closed", "expired") and existing.status == "active":
            client.sessions.end(
                existing.id, outcome=data.get("outcome"), summary=data.get("summary"), extract_memories=False
            )

    # --- misses --------------------------------------------------------------------------------------

    def _import_miss(self, record: Record) -> None:
        data = record.data
        if not isinstance(data.get("query"), str):
            self._skip(record.line, "miss without a query", "miss")
            return
        session = self._sessions.get(data.get("session_id") or "", data.get("session_id"))
        self.progress.update()
        if self.client is None:
            self.report.counts["miss would import"] += 1
            return
        if self._known_misses is None:
            self._known_misses = {(m.query, m.session_id, m.context) for m in self.client.iter_misses()}
        identity = (data["query"], session, data.get("context"))
        if identity in self._known_misses:
            self.report.counts["miss existing"] += 1
            return
        namespaces = [n for n in data.get("namespaces") or [] if isinstance(n, str)] or None
        self.client.memories.miss(data["query"], session_id=session, context=data.get("context"), namespaces=namespaces)
        self._known_misses.add(identity)
        self.report.counts["miss created"] += 1

    def _count(self, what: str, n: int) -> None:
        if n:
            self.report.counts[what] += n

    def _skip(self, line: int, reason: str, kind: str) -> None:
        self.report.problem(line, reason)
        self.report.counts[f"{kind} skipped"] += 1
        if self.strict:
            raise Stop(f"line {line}: {reason}")


def _message(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("role", "content", "tool_call_id", "tool_name") if data.get(k) is not None}


def _chunks(items: list[Record], size: int) -> Iterator[list[Record]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
