"""A poison record among good ones: exactly it is reported (``batchItemFailures``), its
batch-mates are applied; through the local runtime it ends in ``<data_dir>/dlq/<Function>.jsonl``."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.support.events import LambdaContext, function_module, http_event, invoke
from tests.support.streams import StreamReader, lambda_event

TENANT = "tenant_a"
ROOT = Path(__file__).resolve().parents[2]


def poisoned(record: dict[str, Any], sequence: str, change: Any) -> dict[str, Any]:
    bad = copy.deepcopy(record)
    bad["eventID"] = f"poison-{sequence}"
    bad["dynamodb"]["SequenceNumber"] = sequence
    change(bad["dynamodb"])
    return bad


def test_memory_stream_reports_only_the_poison_record(aws: dict[str, str], tmp_path: Path) -> None:
    from engram.index.local import LocalIndex

    ids = []
    for text in ("Likes hiking", "Owns a cat named Miso", "Works from Porto"):
        ids.append(invoke("create_memory", http_event("POST", "/v1/memories", body={"text": text})).json["id"])
    records = StreamReader(aws["MemoriesTable"]).new_records()
    assert len(records) == 3

    def bad_embedding(data: dict[str, Any]) -> None:  # 3 bytes: not a float32 vector
        data["NewImage"]["embedding"] = {"B": b"\x00\x01\x02"}
        data["NewImage"]["memory_id"] = {"S": "mem_01POISON0000000000000000"}
        data["NewImage"]["pk"] = data["Keys"]["pk"] = {"S": f"{TENANT}#mem_01POISON0000000000000000"}

    poison = poisoned(records[0], "99999999999999999999", bad_embedding)
    batch = [records[0], poison, records[1], records[2]]
    fresh = LocalIndex(str(tmp_path / "replica"))  # an index only this batch feeds
    out = function_module("on_memory_change").process(lambda_event(batch), LambdaContext(), index=fresh)
    assert out == {"batchItemFailures": [{"itemIdentifier": "99999999999999999999"}]}
    for memory_id in ids:
        assert fresh.document(TENANT, memory_id) is not None
    assert fresh.count(TENANT) == 3


def test_session_stream_reports_only_the_poison_record(aws: dict[str, str]) -> None:
    memory_id = invoke("create_memory", http_event("POST", "/v1/memories", body={"text": "Prefers dark mode"})).json[
        "id"
    ]
    session_id = invoke("create_session", http_event("POST", "/v1/sessions", body={})).json["id"]
    turn = {"turnNumber": 1, "messages": [{"role": "user", "content": "hi"}], "memoriesUsed": [memory_id]}
    path = {"id": session_id}
    assert (
        invoke("record_turn", http_event("POST", "/v1/sessions/{id}/turn", path_params=path, body=turn)).status == 200
    )
    end = {"outcome": "success", "extract_memories": False}
    assert invoke("end_session", http_event("POST", "/v1/sessions/{id}/end", path_params=path, body=end)).status == 200
    records = StreamReader(aws["SessionsTable"]).new_records()
    assert [r["eventName"] for r in records].count("MODIFY") >= 2

    def no_tenant(data: dict[str, Any]) -> None:
        data["NewImage"].pop("tenant_id")
        data["NewImage"]["session_id"] = {"S": "sess_01POISON0000000000000000"}

    insert = next(r for r in records if r["eventName"] == "INSERT")
    poison = poisoned(insert, "88888888888888888888", no_tenant)
    batch = [records[0], poison, *records[1:]]
    out = function_module("on_session_change").process(lambda_event(batch), LambdaContext())
    assert dict(out) == {"batchItemFailures": [{"itemIdentifier": "88888888888888888888"}]}
    got = invoke("get_memory", http_event("GET", "/v1/memories/{id}", path_params={"id": memory_id})).json
    assert got["feedback_score"] == 1  # the end record behind the poison one was applied: outcome credited


# --- through the local runtime: retries, then the dead-letter file --------------------------------


@pytest.fixture
def runtime(tmp_path: Path) -> Any:
    from engram.local.runtime import LocalRuntime

    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ENGRAM_", "AWS_ENDPOINT_URL"))},
        "ENGRAM_API_KEY": "egm_faults_poison_0123456789abcdefghijklmnop",
        "ENGRAM_EMBEDDER": "hashing",
        "ENGRAM_RATE_LIMIT_PER_MINUTE": "100000",
        "ENGRAM_LOCAL_SCHEDULE_SECONDS": "3600",
    }
    local = LocalRuntime(ROOT / "template.yaml", tmp_path / "data", port=0, environ=environ).start()
    try:
        yield local
    finally:
        local.stop(snapshot=False)


def memory_item(tenant: str, memory_id: str, text: str, embedding: bytes) -> dict[str, Any]:
    from engram.store.memories import MemoryItem, memory_pk, tenant_ns, tenant_ns_hash, tenant_ns_tier

    now = time.time()
    item = MemoryItem(
        pk=memory_pk(tenant, memory_id),
        tenant_id=tenant,
        memory_id=memory_id,
        tenant_ns=tenant_ns(tenant, "default"),
        tenant_ns_tier=tenant_ns_tier(tenant, "default", "normal"),
        tenant_ns_hash=tenant_ns_hash(tenant, "default", text),
        namespace="default",
        title=text,
        text=text,
        type="fact",
        tier="normal",
        created_at=now,
        updated_at=now,
        version=1,
        embedding=embedding,
        embedder="hashing:test",
    )
    return dict(item.serialize())


def dead_letters(path: Path, timeout: float = 30.0, want: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if len(lines) >= want:
                return lines
        time.sleep(0.1)
    return []


def test_local_runtime_dead_letters_the_poison_record_and_applies_its_batch_mates(runtime: Any) -> None:
    from engram.config import get_settings
    from engram.embed import get_embedder
    from engram.ids import new_id
    from engram.store.memories import pack_vector

    settings = get_settings()
    client = boto3.client("dynamodb", endpoint_url=runtime.dynamo.endpoint, region_name="us-east-1")
    embedder = get_embedder(settings)
    texts = ["The user sails on Lake Geneva", "The user collects vinyl records", "The user speaks Finnish"]
    good_ids = [new_id("mem") for _ in texts]
    poison_id = new_id("mem")
    items = [
        memory_item("local", mid, text, pack_vector(embedder.embed([text])[0]))
        for mid, text in zip(good_ids, texts, strict=True)
    ]
    items.insert(1, memory_item("local", poison_id, "poison", b"\x00\x01\x02"))
    # one request, one stream batch: the poison record sits between good ones
    client.batch_write_item(RequestItems={settings.memories_table: [{"PutRequest": {"Item": i}} for i in items]})
    # a session item without tenant_id, among a good session item, for on_session_change
    client.batch_write_item(
        RequestItems={
            settings.sessions_table: [
                {"PutRequest": {"Item": {"pk": {"S": "local#sess_poison"}, "kind": {"S": "session"}}}},
                {
                    "PutRequest": {
                        "Item": {"pk": {"S": "local#key#fine"}, "kind": {"S": "key"}, "target_id": {"S": "x"}}
                    }
                },
            ]
        }
    )

    dlq = runtime.data_dir / "dlq"
    memory_letters = dead_letters(dlq / "OnMemoryChangeFunction.jsonl")
    session_letters = dead_letters(dlq / "OnSessionChangeFunction.jsonl")
    assert runtime.pump.drain(20)
    assert [d["record"]["dynamodb"]["Keys"]["pk"]["S"] for d in memory_letters] == [f"local#{poison_id}"]
    assert [d["record"]["dynamodb"]["Keys"]["pk"]["S"] for d in session_letters] == ["local#sess_poison"]
    for letter in memory_letters + session_letters:
        assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert letter["requestContext"]["approximateInvokeCount"] == 4  # 1 + MaximumRetryAttempts 3

    headers = {"Authorization": f"Bearer {runtime.api_key.secret}"}
    for memory_id, text in zip(good_ids, texts, strict=True):
        body = {"query": text, "threshold": 0, "topK": 3}
        hits = requests.post(f"{runtime.url}/v1/memories/search", json=body, headers=headers, timeout=30).json()
        assert hits["results"] and hits["results"][0]["id"] == memory_id, hits
