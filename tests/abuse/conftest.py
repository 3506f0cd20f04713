"""One local server for the abuse suite: tenant A (the local key), tenant B, a revoked key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from engram.testing.server import LocalServer
from tests.fuzz import live

KEY_A = "egm_abuse_tenant_a_0123456789abcdef"


@dataclass
class Abuse:
    server: LocalServer
    key_a: str
    key_b: str
    revoked: str
    _shared: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, key: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if "json" in kwargs or "data" in kwargs:
            headers.setdefault("Content-Type", "application/json")
        return requests.request(method, self.server.url + path, headers=headers, timeout=60, **kwargs)

    def a(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.call(method, path, self.key_a, **kwargs)

    def new_session(self) -> tuple[str, str]:
        key = f"abuse:{uuid.uuid4().hex[:12]}"
        reply = self.a("POST", "/v1/sessions", json={"key": key, "title": "tenant A secret", "metadata": {"a": 1}})
        assert reply.status_code == 201, reply.text
        sid = reply.json()["id"]
        added = self.a("POST", f"/v1/sessions/{sid}/messages", json={"role": "user", "content": "tenant A marker"})
        assert added.status_code == 201, added.text
        return sid, key

    def shared_id(self, kind: str, method: str) -> str:
        """A real id of tenant A for a request that may not destroy it (fresh for DELETE/end/close)."""
        if method == "DELETE" or kind not in self._shared:
            value = self.new_memory() if kind == "memory" else self.new_session()[0]
            if method == "DELETE":
                return value
            self._shared[kind] = value
        return self._shared[kind]

    def new_memory(self) -> str:
        reply = self.a(
            "POST", "/v1/memories", json={"text": "tenant A prefers tea", "title": "tea", "type": "preference"}
        )
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])


@pytest.fixture(scope="session")
def abuse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Abuse]:
    tmp: Path = tmp_path_factory.mktemp("abuse")
    server = live.start(tmp / "data", KEY_A, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "100000"})
    try:
        key_b = live.cli(server, "keys", "create", "--tenant", "tenant_b")["api_key"]
        revoked = live.cli(server, "keys", "create", "--tenant", "tenant_a_old")
        live.cli(server, "keys", "revoke", revoked["key_id"])
        yield Abuse(server, KEY_A, key_b, revoked["api_key"])
    finally:
        server.stop()


def assert_error(reply: requests.Response, status: int | set[int], code: str | None = None) -> dict[str, Any]:
    """The one error shape, exactly: {"error": {"code", "message", "details"}, "request_id"}."""
    statuses = {status} if isinstance(status, int) else status
    assert reply.status_code in statuses, (
        f"{reply.request.method} {reply.request.url}: {reply.status_code} {reply.text[:500]}"
    )
    assert reply.headers.get("Content-Type", "").startswith("application/json"), reply.headers
    body = reply.json()
    assert set(body) == {"error", "request_id"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], list)
    assert isinstance(body["request_id"], str) and body["request_id"], body
    assert "Traceback" not in reply.text
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body)
