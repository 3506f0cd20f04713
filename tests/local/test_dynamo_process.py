"""DynamoDB in a process of its own: calls, errors, stream logs and the change feed cross the
process boundary unchanged; stop snapshots; the data directory has one owner; a dead DynamoDB
process stops the server instead of leaving it answering 5xx."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from engram.local.dynamo import DynamoError
from engram.local.dynamo_process import DynamoProcess, DynamoProcessError
from engram.local.runtime import LocalRuntime
from tests.local.helpers import FIXTURE_TEMPLATE, Server, call, table_request

REGION = "us-east-1"
TABLE = "things"


@pytest.fixture
def dynamo(tmp_path: Path) -> Iterator[DynamoProcess]:
    process = DynamoProcess(tmp_path / "dynamodb", REGION)
    process.start()
    try:
        yield process
    finally:
        process.stop(snapshot=False)


def _create_table(dynamo: DynamoProcess) -> None:
    dynamo.call("CreateTable", table_request(TABLE))


def _client(dynamo: DynamoProcess) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=dynamo.endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_calls_errors_and_stream_records_cross_the_process(dynamo: DynamoProcess) -> None:
    assert dynamo.pid is not None and dynamo.pid != os.getpid()
    _create_table(dynamo)
    log = dynamo.stream_log(TABLE)
    log.subscribe("reader", dynamo.latest_position())
    dynamo.close_subscriptions()
    _client(dynamo).put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "n": {"N": "1"}})

    records = log.read(-1, 10)
    assert [(r["eventName"], r["dynamodb"]["NewImage"]) for r in records] == [
        ("INSERT", {"pk": {"S": "a"}, "n": {"N": "1"}})
    ]
    assert len(log) == 1 and log.oldest() == int(records[0]["dynamodb"]["SequenceNumber"])
    log.advance("reader", int(records[0]["dynamodb"]["SequenceNumber"]))
    assert len(log) == 0 and log.pending() == []

    with pytest.raises(DynamoError) as missing:
        dynamo.describe("no-such-table")
    assert missing.value.status == 400 and missing.value.code == "ResourceNotFoundException"
    assert dynamo.call("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "a"}}})["Item"]["n"] == {"N": "1"}


def test_a_waiting_reader_wakes_on_a_write_and_on_wake_all(dynamo: DynamoProcess) -> None:
    _create_table(dynamo)
    before = dynamo.changes.generation
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(dynamo.changes.wait_past(before, 60)))
    waiter.start()
    _client(dynamo).put_item(TableName=TABLE, Item={"pk": {"S": "b"}})
    waiter.join(30)
    assert not waiter.is_alive() and woke == [before + 1]

    now = dynamo.changes.generation
    released: list[int] = []
    waiter = threading.Thread(target=lambda: released.append(dynamo.changes.wait_past(now, 60)))
    waiter.start()
    dynamo.changes.wake_all()  # releases waiters now and from now on (only stopping calls it)
    waiter.join(30)
    assert not waiter.is_alive() and released == [now]  # released without a write
    assert dynamo.changes.wait_past(now, 60) == now


def test_stop_writes_the_snapshot_and_a_new_process_restores_it(tmp_path: Path) -> None:
    first = DynamoProcess(tmp_path / "dynamodb", REGION)
    first.start()
    _create_table(first)
    _client(first).put_item(TableName=TABLE, Item={"pk": {"S": "kept"}, "v": {"S": "x"}})
    first.stop()
    assert first.process is not None and first.process.returncode == 0
    snapshot = (tmp_path / "dynamodb" / "snapshot.jsonl").read_text().splitlines()
    assert any(json.loads(line).get("item", {}).get("pk") == {"S": "kept"} for line in snapshot)

    second = DynamoProcess(tmp_path / "dynamodb", REGION)
    second.start()
    try:
        assert second.stats["snapshot_items"] == 1 and second.stats["replayed"] == 0
        item = _client(second).get_item(TableName=TABLE, Key={"pk": {"S": "kept"}})["Item"]
        assert item == {"pk": {"S": "kept"}, "v": {"S": "x"}}
    finally:
        second.stop(snapshot=False)


def test_a_second_process_on_the_same_data_directory_is_refused(dynamo: DynamoProcess, tmp_path: Path) -> None:
    _create_table(dynamo)
    other = DynamoProcess(tmp_path / "dynamodb", REGION, lock_wait=0.3)
    with pytest.raises(DynamoProcessError, match="another Engram server is using"):
        other.start()
    assert other.process is not None and other.process.returncode == 1
    assert dynamo.describe(TABLE)["TableName"] == TABLE  # the first one is untouched


def test_the_runtime_reports_a_dead_dynamo_process_and_keeps_acknowledged_writes(
    tmp_path: Path, logs: dict[str, Path]
) -> None:
    failures: list[str] = []
    failed = threading.Event()

    def on_failure(message: str) -> None:
        failures.append(message)
        failed.set()

    local = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", port=0, workers=1, on_failure=on_failure).start()
    try:
        assert isinstance(local.dynamo, DynamoProcess)
        created = call(local.port, "PUT", "/items/survivor", body='{"n": 7}')
        assert created.status == 200, created.body
        local.dynamo.kill()
        assert failed.wait(30)
        assert failures == [local.failure] and "exit code -9" in failures[0]
    finally:
        local.stop(snapshot=False)

    again = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", port=0, workers=1).start()
    try:
        reply = call(again.port, "GET", "/items/survivor")
        assert reply.status == 200 and reply.json()["value"] == {"n": 7}
    finally:
        again.stop()


def test_the_server_exits_with_1_when_its_dynamo_process_dies(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", "--workers", "1", "--lazy")
    try:
        assert any("moto in a process of its own" in line for line in server.output)
        os.kill(_dynamo_child(server.process.pid), signal.SIGKILL)
        assert server.wait(60) == 1
        output = "".join(server.output)
        assert "DynamoDB's process exited unexpectedly (exit code -9)" in output
        assert "acknowledged writes are in the journal" in output and "engram.local: stopped" not in output
    finally:
        if server.process.poll() is None:
            server.process.kill()


def _dynamo_child(parent: int) -> int:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            arguments = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"engram.local.dynamo_process" in arguments:
            return int(entry)
    raise AssertionError(f"no DynamoDB process under {parent}")
