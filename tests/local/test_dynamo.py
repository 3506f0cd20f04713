"""LocalDynamo below the runtime: transactions roll back item by item, at a cost that does not
grow with the table, and a write's stream records leave moto at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engram.local.dynamo import DynamoError, LocalDynamo

TABLE = "t"


@pytest.fixture
def dynamo(tmp_path: Path) -> Iterator[LocalDynamo]:
    local = LocalDynamo(tmp_path / "dynamodb", "us-east-1")
    local.start()
    local.call(
        "CreateTable",
        {
            "TableName": TABLE,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    log = local.stream_log(TABLE)
    log.subscribe("test", local.latest_position())
    try:
        yield local
    finally:
        local.stop(snapshot=False)


def _put(dynamo: LocalDynamo, pk: str, **attributes: Any) -> None:
    item = {"pk": {"S": pk}, **{name: {"N": str(value)} for name, value in attributes.items()}}
    dynamo.call("PutItem", {"TableName": TABLE, "Item": item})


def _get(dynamo: LocalDynamo, pk: str) -> dict[str, Any] | None:
    found = dynamo.call("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": pk}}, "ConsistentRead": True})
    return found.get("Item")


def test_a_cancelled_transaction_leaves_every_item_and_the_stream_as_they_were(dynamo: LocalDynamo) -> None:
    _put(dynamo, "updated", n=1)
    _put(dynamo, "deleted", n=2)
    _put(dynamo, "guard", n=0)
    log = dynamo.stream_log(TABLE)
    before = len(log)
    (journal,) = dynamo.data_dir.glob("journal-*.jsonl")
    journal_size = journal.stat().st_size
    with pytest.raises(DynamoError) as refused:
        dynamo.call(
            "TransactWriteItems",
            {
                "TransactItems": [
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": {"pk": {"S": "updated"}},
                            "UpdateExpression": "SET n = n + :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                    {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "deleted"}}}},
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "created"}, "n": {"N": "9"}}}},
                    {  # fails last, after the three writes above were applied
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": {"pk": {"S": "guard"}},
                            "ConditionExpression": "n = :five",
                            "ExpressionAttributeValues": {":five": {"N": "5"}},
                        }
                    },
                ]
            },
        )
    assert refused.value.code == "TransactionCanceledException"
    assert _get(dynamo, "updated") == {"pk": {"S": "updated"}, "n": {"N": "1"}}
    assert _get(dynamo, "deleted") == {"pk": {"S": "deleted"}, "n": {"N": "2"}}
    assert _get(dynamo, "created") is None
    assert len(log) == before  # no record of writes that never happened
    assert journal.stat().st_size == journal_size  # nor a journal entry

    # and a transaction that succeeds is applied, with one record per item
    dynamo.call(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "created"}, "n": {"N": "9"}}}},
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "deleted"}}}},
            ]
        },
    )
    assert _get(dynamo, "created") == {"pk": {"S": "created"}, "n": {"N": "9"}}
    assert _get(dynamo, "deleted") is None
    assert [r["eventName"] for r in log.read(-1, 100)][-2:] == ["INSERT", "REMOVE"]


def test_a_transaction_copies_the_items_it_names_not_the_table(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    for number in range(300):
        _put(dynamo, f"item{number}", n=number)
    copies = 0
    original = DynamoType.__deepcopy__

    def counting(self: DynamoType, memo: dict[int, Any]) -> DynamoType:
        nonlocal copies
        copies += 1
        return original(self, memo)

    monkeypatch.setattr(DynamoType, "__deepcopy__", counting)
    dynamo.call(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}, "n": {"N": "1"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "item7"}},
                        "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "70"}},
                    }
                },
            ]
        },
    )
    assert _get(dynamo, "item7") == {"pk": {"S": "item7"}, "n": {"N": "70"}}
    assert copies < 50  # a copy of the table would copy 600 values


def test_stream_records_are_numbered_by_write_and_leave_moto(dynamo: LocalDynamo) -> None:
    from moto.dynamodb.models import dynamodb_backends

    _put(dynamo, "a", n=1)
    dynamo.call(
        "BatchWriteItem",
        {
            "RequestItems": {
                TABLE: [
                    {"PutRequest": {"Item": {"pk": {"S": "b"}}}},
                    {"PutRequest": {"Item": {"pk": {"S": "c"}}}},
                ]
            }
        },
    )
    records = dynamo.stream_log(TABLE).read(-1, 10)
    positions = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    # one write, then a second write with two records: numbered by write, then within it
    assert positions[1] == positions[2] - 1 and positions[1] // 100_000 == positions[0] // 100_000 + 1
    shard = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE].stream_shard
    assert shard is not None and shard.items == []


def test_binary_attributes_reach_the_stream_and_the_snapshot_as_base64(tmp_path: Path) -> None:
    first = LocalDynamo(tmp_path / "dynamodb", "us-east-1")
    first.start()
    try:
        first.call(
            "CreateTable",
            {
                "TableName": TABLE,
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            },
        )
        item = {"pk": {"S": "bin"}, "blob": {"B": "AAEC/w=="}, "set": {"BS": ["AA==", "AQ=="]}}
        first.call("PutItem", {"TableName": TABLE, "Item": item})
        (record,) = first.stream_log(TABLE).read(-1, 10)
        assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AAEC/w=="}
        json.dumps(record)  # what the consumer is given is plain JSON
    finally:
        first.stop(snapshot=True)
    second = LocalDynamo(tmp_path / "dynamodb", "us-east-1")
    second.start()
    try:
        got = second.call("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "bin"}}})["Item"]
        assert got["blob"] == {"B": "AAEC/w=="} and sorted(got["set"]["BS"]) == ["AA==", "AQ=="]
    finally:
        second.stop(snapshot=False)
