"""``engram export``: every session (with its messages), memory and miss of the key's tenant, as NDJSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import IO, Any

from engram import clock
from engram.progress import Progress
from engram.transfer.formats import EXPORT_FORMAT, EXPORT_VERSION
from engram_client import Engram


def export(client: Engram, out: IO[str], *, progress: Progress) -> Counter[str]:
    """Write the tenant's data to ``out``; returns how many records of each kind were written."""
    counts: Counter[str] = Counter()

    def write(kind: str, data: dict[str, Any], **extra: Any) -> None:
        out.write(json.dumps({"kind": kind, **extra, "data": data}, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[kind] += 1
        progress.update()

    header = {"kind": "header", "format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": _now()}
    out.write(json.dumps({**header, "source": client.base_url}) + "\n")
    for session in client.iter_sessions():
        write("session", session.model_dump(mode="json"))
        for message in client.iter_messages(session.id):
            write("message", message.model_dump(mode="json"), session_id=session.id)
    for memory in client.iter_memories():
        write("memory", memory.model_dump(mode="json"))
    for miss in client.iter_misses():
        write("miss", miss.model_dump(mode="json"))
    return counts


def _now() -> str:
    return clock.iso(clock.now()) or ""
