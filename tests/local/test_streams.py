"""Streams to Lambda: the event shape, retries with batchItemFailures, the DLQ file, and TTL."""

from __future__ import annotations

import time
from pathlib import Path

from engram.local.runtime import LocalRuntime
from engram.local.streams import TTL_USER_IDENTITY
from tests.local.helpers import FIXTURE_TEMPLATE, call, read_jsonl, wait_for


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
