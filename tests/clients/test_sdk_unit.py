"""engram_client without a server (httpx.MockTransport): retries, Retry-After, idempotency keys,
configuration, and that the generated parts match their sources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import engram_client._base as base
from engram_client import Engram, EngramError, InvalidRequest, RateLimited, ServiceUnavailable

ROOT = Path(__file__).resolve().parents[2]
MEMORY = {
    "id": "mem_01JBZ8Q7X4N5M6P7Q8R9S0T1V2",
    "namespace": "default",
    "title": "t",
    "text": "t",
    "type": "fact",
    "tier": "normal",
    "locked": False,
    "feedback_score": 0,
    "access_count": 0,
    "strength": 10.0,
    "entities": [],
}


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": code, "details": []}, "request_id": "req-1"}
    return httpx.Response(status, json=body, headers=headers)


def scripted(answers: list[httpx.Response]) -> tuple[Engram, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answers[min(len(requests), len(answers)) - 1]

    return Engram("http://engram.test", "egm_key", transport=httpx.MockTransport(handle)), requests


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("engram_client._sync.client.sleep", waits.append)
    return waits


def test_429_and_503_are_retried_honouring_retry_after(slept: list[float]) -> None:
    client, requests = scripted(
        [
            error(429, "rate_limited", {"Retry-After": "7"}),
            error(503, "service_unavailable", {"Retry-After": "2"}),
            httpx.Response(201, json=MEMORY),
        ]
    )
    memory = client.memories.create("t")
    assert memory.id == MEMORY["id"]
    assert slept == [7.0, 2.0]
    keys = {r.headers["idempotency-key"] for r in requests}
    assert len(requests) == 3 and len(keys) == 1  # every retry repeats the one key
    assert requests[0].headers["authorization"] == "Bearer egm_key"
    assert json.loads(requests[0].content) == {"text": "t"}  # None arguments are not sent


def test_retries_stop_after_max_retries(slept: list[float]) -> None:
    client, requests = scripted([error(503, "service_unavailable")])
    with pytest.raises(ServiceUnavailable) as caught:
        client.memories.get("mem_x")
    assert len(requests) == base.DEFAULT_MAX_RETRIES + 1 and len(slept) == base.DEFAULT_MAX_RETRIES
    assert all(0 <= s <= 30 for s in slept) and caught.value.request_id == "req-1"
    assert "idempotency-key" not in requests[0].headers  # only POSTs carry one


def test_rate_limited_reports_retry_after_when_retries_run_out(slept: list[float]) -> None:
    client, requests = scripted([error(429, "rate_limited", {"Retry-After": "3"})])
    client.retry.max_retries = 0
    with pytest.raises(RateLimited) as caught:
        client.memories.list()
    assert caught.value.retry_after == 3.0 and slept == [] and len(requests) == 1


def test_other_errors_are_not_retried(slept: list[float]) -> None:
    client, requests = scripted([error(422, "validation_error")])
    with pytest.raises(InvalidRequest):
        client.memories.create("t")
    assert len(requests) == 1 and slept == []


def test_request_in_progress_is_retried(slept: list[float]) -> None:
    client, requests = scripted([error(409, "request_in_progress"), httpx.Response(201, json=MEMORY)])
    assert client.memories.create("t").id == MEMORY["id"]
    assert len(requests) == 2 and requests[0].headers["idempotency-key"] == requests[1].headers["idempotency-key"]


def test_an_explicit_idempotency_key_is_sent(slept: list[float]) -> None:
    client, requests = scripted([httpx.Response(201, json=MEMORY)])
    client.memories.create("t", idempotency_key="order-42")
    assert requests[0].headers["idempotency-key"] == "order-42"


def test_ids_and_keys_are_one_path_segment() -> None:
    client, requests = scripted([httpx.Response(200, json={"data": [], "has_more": False, "total_count": 0})])
    client.sessions.messages.list("telegram:12/34")
    assert requests[0].url.raw_path == b"/v1/sessions/telegram%3A12%2F34/messages"


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_URL", "https://engram.example.com/")
    monkeypatch.setenv("ENGRAM_API_KEY", "egm_from_env")
    client = Engram()
    assert client.base_url == "https://engram.example.com"
    monkeypatch.delenv("ENGRAM_API_KEY")
    with pytest.raises(EngramError, match="ENGRAM_API_KEY"):
        Engram()


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert base.retry_after(httpx.Response(429, headers={"Retry-After": "5"})) == 5.0
    future = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    assert (base.retry_after(future) or 0) > 1e9
    assert base.retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_generated_parts_match_their_sources() -> None:
    """models.py matches shared/engram/api/openapi.json and _sync/ matches _async/ (`make sdk`)."""
    done = subprocess.run(
        [sys.executable, "clients/python/codegen.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


PROBE = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "engram" or name.startswith("engram."):
            raise ImportError("the SDK must not need the server package")
sys.meta_path.insert(0, Block())
import engram_client, engram_client.models
print(engram_client.__file__)
"""


def test_the_sdk_installs_and_imports_on_its_own(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(ROOT / "clients" / "python")],
        check=True,
        timeout=300,
        capture_output=True,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(target))


def test_governance_methods_send_their_routes_and_parse_their_answers() -> None:
    conflict = {
        "id": "cfl_01JBZ8Q7X4N5M6P7Q8R9S0T1V2",
        "status": "resolved",
        "old_memory_id": MEMORY["id"],
        "new_memory_id": "mem_01JBZ8Q7X4N5M6P7Q8R9S0T1V3",
        "slot": "user|residence",
        "reason": "residence: singapore -> berlin",
        "confidence": 0.6,
        "why_review": "low_confidence",
        "resolution": "keep_new",
    }
    client, requests = scripted(
        [
            httpx.Response(201, json={**MEMORY, "action": "superseded", "supersedes": ["mem_old"]}),
            httpx.Response(200, json={"data": [conflict], "has_more": False}),
            httpx.Response(200, json=conflict),
            httpx.Response(
                200, json={"memory_id": MEMORY["id"], "data": [{"at": "t", "cause": "api", "change": "created"}]}
            ),
            httpx.Response(200, json={"data": [{"id": "del_1", "kind": "memory", "memories_deleted": [MEMORY["id"]]}]}),
        ]
    )
    assert client.memories.create("I moved to Berlin").action == "superseded"
    assert client.memories.conflicts(status="open").data[0].slot == "user|residence"
    assert client.memories.resolve_conflict(conflict["id"], "keep_new").resolution == "keep_new"
    assert client.memories.history(MEMORY["id"]).data[0].cause == "api"
    assert client.deletions(limit=5).data[0].memories_deleted == [MEMORY["id"]]
    assert [(r.method, r.url.path) for r in requests] == [
        ("POST", "/v1/memories"),
        ("GET", "/v1/memories/conflicts"),
        ("POST", f"/v1/memories/conflicts/{conflict['id']}/resolve"),
        ("GET", f"/v1/memories/{MEMORY['id']}/history"),
        ("GET", "/v1/deletions"),
    ]
    assert json.loads(requests[2].content) == {"resolution": "keep_new"} and requests[4].url.params["limit"] == "5"


def test_a_memory_context_is_sent_and_read_back() -> None:
    answer = httpx.Response(201, json={**MEMORY, "context": "Who wrote it?", "action": "created"})
    client, requests = scripted([answer, httpx.Response(200, json={**MEMORY, "action": "edited"})])
    created = client.memories.create("Ann wrote it", context="Who wrote it?")
    assert created.context == "Who wrote it?"
    edited = client.memories.update(MEMORY["id"], context="")  # "" removes it
    assert edited.context is None
    assert [json.loads(r.content) for r in requests] == [
        {"text": "Ann wrote it", "context": "Who wrote it?"},
        {"context": ""},
    ]
