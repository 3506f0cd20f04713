"""Live sessions and memories of the fuzz tenant, for path parameters and cursors (both fuzzers).

The server's address and key come from ``ENGRAM_FUZZ_URL`` and ``ENGRAM_FUZZ_KEY``.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import requests

POOL_SIZE = 3


class Live:
    """Sessions and memories of the fuzz tenant that path parameters may name."""

    def __init__(self, url: str | None = None, api_key: str | None = None) -> None:
        self.url = (url or os.environ["ENGRAM_FUZZ_URL"]).rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key or os.environ['ENGRAM_FUZZ_KEY']}"
        self.lock = threading.Lock()
        self.sessions: list[tuple[str, str]] = []  # (id, key)
        self.memories: list[str] = []

    def new_session(self) -> tuple[str, str]:
        key = f"fuzz:{uuid.uuid4().hex[:10]}"
        reply = self.http.post(f"{self.url}/v1/sessions", json={"key": key, "agent_id": "fuzzer"}, timeout=30)
        reply.raise_for_status()
        sid = reply.json()["id"]
        for text in ("I prefer tea over coffee", "We decided to ship on Friday"):
            self.http.post(f"{self.url}/v1/sessions/{sid}/messages", json={"role": "user", "content": text}, timeout=30)
        return sid, key

    def new_memory(self) -> str:
        body = {"text": f"The user prefers tea ({uuid.uuid4().hex[:6]})", "title": "tea", "type": "preference"}
        reply = self.http.post(f"{self.url}/v1/memories", json=body, timeout=30)
        reply.raise_for_status()
        return str(reply.json()["id"])

    def fill(self) -> None:
        with self.lock:
            while len(self.sessions) < POOL_SIZE:
                self.sessions.append(self.new_session())
            while len(self.memories) < POOL_SIZE:
                self.memories.append(self.new_memory())
            for n in range(2):  # two misses, so the misses list has a second page
                self.http.post(f"{self.url}/v1/memories/miss", json={"query": f"what is unknown {n}?"}, timeout=30)

    def choices(self, path: str) -> list[str]:
        if not self.sessions:
            self.fill()
        if path.startswith("/v1/memories/"):
            return list(self.memories)
        return [ref for pair in self.sessions for ref in pair]

    def spent(self, path: str, ref: str) -> None:
        """A case ended, closed or deleted ``ref``: replace it so later cases still find a live one."""
        with self.lock:
            if path.startswith("/v1/memories/") and ref in self.memories:
                self.memories[self.memories.index(ref)] = self.new_memory()
            for n, pair in enumerate(self.sessions):
                if ref in pair:
                    self.sessions[n] = self.new_session()

    def cursor_for(self, path: str, query: dict[str, Any]) -> str | None:
        params = {k: v for k, v in query.items() if k not in {"cursor", "offset"} and v is not None}
        params["limit"] = 1
        reply = self.http.get(self.url + path, params=params, timeout=30)
        return reply.json().get("next_cursor") if reply.status_code == 200 else None


_live: Live | None = None


def live() -> Live:
    global _live
    if _live is None:
        _live = Live()
    return _live
