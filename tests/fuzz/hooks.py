"""Schemathesis hooks for the Engram run (loaded with ``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

- ``engram_error_shape``: every answer is JSON, and every 4xx/5xx is exactly Engram's error shape.
- Real ids: ``{id}`` is drawn from {generated value, live session ids and keys, live memory ids}, so
  operations on an id reach their handler instead of answering 404 to every random string. Ids that
  a case ended, closed or deleted are replaced by fresh ones.
- Real cursors: a cursor is an opaque token the server issues and checks (anything else is a 400),
  so no generator can produce a valid one. In positive mode a generated ``cursor`` is replaced by the
  ``next_cursor`` of the same query (or dropped when that query has a single page); negative mode
  keeps the generated one, which the server must refuse.

The server's address and key come from ``ENGRAM_FUZZ_URL`` and ``ENGRAM_FUZZ_KEY``; each answer's
operation and status are appended to ``ENGRAM_FUZZ_STATUS_LOG`` when it is set.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import hypothesis.strategies as st
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure

from tests.fuzz.shape import error_shape_problem

POOL_SIZE = 3


@schemathesis.check
def engram_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    content_type = ",".join(response.headers.get("content-type", []))
    problem = error_shape_problem(response.status_code, content_type, response.content, case.operation.path)
    if problem:
        raise Failure(operation=case.operation.label, title="Not in Engram's error shape", message=problem)
    return None


# --- live resources --------------------------------------------------------------------------------


class Live:
    """Sessions and memories of the fuzz tenant that path parameters may name."""

    def __init__(self) -> None:
        self.url = os.environ["ENGRAM_FUZZ_URL"].rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {os.environ['ENGRAM_FUZZ_KEY']}"
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


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    if not path_parameters or "id" not in path_parameters or context.operation is None:
        return st.just(path_parameters)
    real = [{**path_parameters, "id": ref} for ref in live().choices(context.operation.path)]
    return st.sampled_from([path_parameters, *real, *real])  # real ids twice as likely as generated ones


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    query = case.query or {}
    if "cursor" in query and case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE:
        cursor = live().cursor_for(case.formatted_path, query)
        if cursor:
            query["cursor"] = cursor
        else:
            query.pop("cursor")
    return case


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    log = os.environ.get("ENGRAM_FUZZ_STATUS_LOG")
    if log:  # one line per answer, for the runner's per-operation status table
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{case.operation.label}\t{response.status_code}\n")
    ref = (case.path_parameters or {}).get("id")
    if ref is None or response.status_code >= 300:
        return
    method, path = case.method.upper(), case.operation.path
    if (method == "DELETE" and not path.endswith("/lock")) or path.endswith(("/end", "/close")):
        live().spent(path, str(ref))
