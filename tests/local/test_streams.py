"""Streams to Lambda: the event shape, retries with batchItemFailures, the DLQ file, and TTL."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from engram.local.runtime import LocalRuntime
from engram.local.streams import TTL_USER_IDENTITY
from tests.local.helpers import FIXTURE_TEMPLATE, Server, call, read_jsonl, wait_for


def _drain(runtime: LocalRuntime) -> None:
    assert runtime.pump is not None
    assert runtime.pump.drain(timeout=15), "stream records were not delivered in time"


def test_insert_modify_remove_are_delivered_in_lambda_shape(runtime: LocalRuntime, logs: dict[str, Path]) -> None:
    assert call(runtime.port, "PUT", "/items/s1", body='{"v": 1}').status == 200
    assert call(runtime.port, "PUT", "/items/s1", body='{"v": 2}').status == 200
    assert call(runtime.port, "DELETE", "/items/s1").status == 204
    _drain(runtime)

    records = read_jsonl(logs["stream"])
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = records
    for record in records:
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == "us-east-1"
        assert record["eventSourceARN"].startswith(
            "arn:aws:dynamodb:us-east-1:123456789012:table/engram-local-ItemsTable/stream/"
        )
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "s1"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
        assert record["dynamodb"]["SizeBytes"] > 0
        assert "userIdentity" not in record
    assert insert["dynamodb"]["NewImage"]["value"] == {"S": '{"v": 1}'}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["value"] == {"S": '{"v": 1}'}
    assert modify["dynamodb"]["NewImage"]["value"] == {"S": '{"v": 2}'}
    assert "NewImage" not in remove["dynamodb"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)


def test_failed_item_is_retried_from_it_then_dead_lettered(
    runtime: LocalRuntime, logs: dict[str, Path], tmp_path: Path
) -> None:
    # However the records fall into batches, each one's fate is fixed: the good ones are
    # delivered once, the poison one is tried once and retried MaximumRetryAttempts=2 times.
    for name, body in (("good1", "{}"), ("bad", '{"poison": true}'), ("good2", "{}")):
        assert call(runtime.port, "PUT", f"/items/{name}", body=body).status == 200
    _drain(runtime)

    seen = [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_jsonl(logs["stream"])]
    assert seen.count("good1") == 1
    assert seen.count("bad") == 3  # the first try and MaximumRetryAttempts=2 retries
    assert seen.index("good2") > seen.index("bad")  # nothing after the failure jumped ahead

    dead = read_jsonl(tmp_path / "data" / "dlq" / "ConsumerFunction.jsonl")
    assert len(dead) == 1
    (entry,) = dead
    assert entry["record"]["dynamodb"]["Keys"] == {"pk": {"S": "bad"}}
    assert entry["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert entry["requestContext"]["approximateInvokeCount"] == 3
    assert entry["requestContext"]["functionArn"].endswith(":function:engram-local-ConsumerFunction")
    batch = entry["DDBStreamBatchInfo"]
    assert batch["startSequenceNumber"] == entry["record"]["dynamodb"]["SequenceNumber"]
    assert batch["batchSize"] == 1
    assert batch["streamArn"] == entry["record"]["eventSourceARN"]
    assert entry["destination"].startswith("arn:aws:sqs:")


def test_handler_exception_retries_the_batch_then_dead_letters(
    runtime: LocalRuntime, logs: dict[str, Path], tmp_path: Path
) -> None:
    assert call(runtime.port, "PUT", "/items/boom", body='{"crash": true}').status == 200
    _drain(runtime)
    seen = [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_jsonl(logs["stream"])]
    assert seen == ["boom", "boom", "boom"]
    (entry,) = read_jsonl(tmp_path / "data" / "dlq" / "ConsumerFunction.jsonl")
    assert entry["responseContext"]["functionError"] == "Unhandled"
    assert "crash record" in entry["error"]

    # The stream moves on after the dead letter.
    assert call(runtime.port, "PUT", "/items/after", body="{}").status == 200
    _drain(runtime)
    assert read_jsonl(logs["stream"])[-1]["dynamodb"]["Keys"] == {"pk": {"S": "after"}}


def test_ttl_reaper_deletes_expired_items_as_the_ttl_service(runtime: LocalRuntime, logs: dict[str, Path]) -> None:
    past, future = int(time.time()) - 60, int(time.time()) + 3600
    assert call(runtime.port, "PUT", "/items/old", body=f'{{"expires_at": {past}}}').status == 200
    assert call(runtime.port, "PUT", "/items/young", body=f'{{"expires_at": {future}}}').status == 200
    assert call(runtime.port, "DELETE", "/items/young-deleted").status == 204
    _drain(runtime)

    assert runtime.reap_ttl() == 1
    _drain(runtime)

    assert call(runtime.port, "GET", "/items/old").status == 404
    assert call(runtime.port, "GET", "/items/young").status == 200
    removes = [r for r in read_jsonl(logs["stream"]) if r["eventName"] == "REMOVE"]
    assert len(removes) == 1
    assert removes[0]["dynamodb"]["Keys"] == {"pk": {"S": "old"}}
    assert (
        removes[0]["userIdentity"]
        == TTL_USER_IDENTITY
        == {
            "type": "Service",
            "principalId": "dynamodb.amazonaws.com",
        }
    )


def test_user_delete_has_no_ttl_identity(runtime: LocalRuntime, logs: dict[str, Path]) -> None:
    past = int(time.time()) - 60
    assert call(runtime.port, "PUT", "/items/gone", body=f'{{"expires_at": {past}}}').status == 200
    assert call(runtime.port, "DELETE", "/items/gone").status == 204
    assert runtime.reap_ttl() == 0
    _drain(runtime)
    (remove,) = [r for r in read_jsonl(logs["stream"]) if r["eventName"] == "REMOVE"]
    assert "userIdentity" not in remove


def test_writes_before_start_are_not_redelivered_after_restart(tmp_path: Path, logs: dict[str, Path]) -> None:
    with LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data") as first:
        assert call(first.port, "PUT", "/items/once", body="{}").status == 200
        assert first.pump is not None and first.pump.drain(10)
    assert len(read_jsonl(logs["stream"])) == 1
    with LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data") as second:
        assert call(second.port, "PUT", "/items/twice", body="{}").status == 200
        assert second.pump is not None and second.pump.drain(10)
        wait_for(lambda: len(read_jsonl(logs["stream"])) == 2)
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_jsonl(logs["stream"])]
    assert keys == ["once", "twice"]


@pytest.mark.e2e
def test_records_not_delivered_before_a_kill_9_are_delivered_after_the_restart(
    tmp_path: Path, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The consumer is held back, so when the server dies every acknowledged write's record is
    # still undelivered (the first batch possibly mid-invocation).
    hold = tmp_path / "hold"
    hold.touch()
    monkeypatch.setenv("FIXTURE_STREAM_HOLD", str(hold))
    data = tmp_path / "data"
    server = Server(data)
    keys = [f"k{number}" for number in range(25)]
    for key in keys:
        assert call(server.port, "PUT", f"/items/{key}", body="{}").status == 200
    server.process.send_signal(signal.SIGKILL)
    server.wait()
    assert read_jsonl(logs["stream"]) == []

    hold.unlink()
    restarted = Server(data)
    try:
        wait_for(lambda: {r["dynamodb"]["Keys"]["pk"]["S"] for r in read_jsonl(logs["stream"])} >= set(keys), 60)
        assert call(restarted.port, "PUT", "/items/later", body="{}").status == 200
        wait_for(lambda: read_jsonl(logs["stream"])[-1]["dynamodb"]["Keys"]["pk"]["S"] == "later", 30)
    finally:
        restarted.process.send_signal(signal.SIGTERM)
        assert restarted.wait() == 0
    records = read_jsonl(logs["stream"])
    # Each write's record keeps its identity across the restart: in order, numbered as before.
    first_seen: dict[str, dict[str, Any]] = {}
    for record in records:
        first_seen.setdefault(record["dynamodb"]["Keys"]["pk"]["S"], record)
    assert list(first_seen) == [*keys, "later"]
    positions = [int(first_seen[key]["dynamodb"]["SequenceNumber"]) for key in [*keys, "later"]]
    assert positions == sorted(positions)
    for record in records:  # a batch redelivered (at least once) is the same records
        same = first_seen[record["dynamodb"]["Keys"]["pk"]["S"]]
        assert (record["eventID"], record["dynamodb"]["SequenceNumber"]) == (
            same["eventID"],
            same["dynamodb"]["SequenceNumber"],
        )

    # A third start delivers nothing again: the checkpoint moved past everything.
    delivered = len(records)
    with LocalRuntime(FIXTURE_TEMPLATE, data) as third:
        assert third.pump is not None and third.pump.drain(10)
    assert len(read_jsonl(logs["stream"])) == delivered


def test_delivered_records_are_not_kept(runtime: LocalRuntime, logs: dict[str, Path]) -> None:
    from moto.dynamodb.models import dynamodb_backends

    for number in range(40):
        assert call(runtime.port, "PUT", f"/items/m{number}", body='{"v": "' + "x" * 2000 + '"}').status == 200
    _drain(runtime)
    assert len(read_jsonl(logs["stream"])) == 40
    assert runtime.dynamo is not None
    table = dynamodb_backends["123456789012"]["us-east-1"].tables["engram-local-ItemsTable"]
    assert table.stream_shard is not None and table.stream_shard.items == []  # moto keeps none
    assert len(runtime.dynamo.streams["engram-local-ItemsTable"]) == 0  # nor does the log, once delivered
    # a table whose stream nobody reads keeps nothing either
    assert all(len(log) == 0 for log in runtime.dynamo.streams.values())


def test_undelivered_records_survive_a_clean_stop_in_the_snapshot(tmp_path: Path, logs: dict[str, Path]) -> None:
    data = tmp_path / "data"
    first = LocalRuntime(FIXTURE_TEMPLATE, data).start()
    assert first.pump is not None
    first.pump.stop()  # the consumer is gone: what is written now stays undelivered
    for key in ("a", "b", "c"):
        assert call(first.port, "PUT", f"/items/{key}", body="{}").status == 200
    first.stop()
    assert read_jsonl(logs["stream"]) == []
    lines = [json.loads(line) for line in (data / "dynamodb" / "snapshot.jsonl").read_text().splitlines()]
    assert lines[0]["last_write"] > 0
    assert [entry["record"]["dynamodb"]["Keys"]["pk"]["S"] for entry in lines if "record" in entry] == ["a", "b", "c"]

    with LocalRuntime(FIXTURE_TEMPLATE, data) as second:
        assert second.pump is not None and second.pump.drain(15)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_jsonl(logs["stream"])] == ["a", "b", "c"]
