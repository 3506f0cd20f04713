"""LocalDynamo below the runtime: transactions roll back item by item, at a cost that does not
grow with the table, and a write's stream records leave moto at once."""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engram.local.dynamo import DynamoError, LocalDynamo
from tests.local.helpers import table_request

TABLE = "t"


@pytest.fixture
def dynamo(tmp_path: Path) -> Iterator[LocalDynamo]:
    local = LocalDynamo(tmp_path / "dynamodb", "us-east-1")
    local.start()
    local.call("CreateTable", table_request(TABLE))
    log = local.stream_log(TABLE)
    log.subscribe("test", local.latest_position())
    try:
        yield local
    finally:
        local.stop(snapshot=False)


class _CallCount:
    """Counts the calls of the function ``owner.name`` from now on (monkeypatch puts it back)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        self.count = 0
        original = getattr(owner, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counting)

    def take(self) -> int:
        """The calls so far; counting starts again from 0."""
        count, self.count = self.count, 0
        return count


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
    from moto.dynamodb.models.dynamo_type import Item

    for number in range(300):
        _put(dynamo, f"item{number}", n=number)
    # Items are copied whole (engram.local.dynamo copies their values directly, not through
    # DynamoType.__deepcopy__, which this test counted before and so no longer saw)
    copies = _CallCount(monkeypatch, Item, "__deepcopy__")
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
    assert 0 < copies.count < 10  # a copy of the table would copy 300 items


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


def _live(cls: type) -> int:
    gc.collect()
    return sum(1 for candidate in gc.get_objects() if type(candidate) is cls)


def test_reads_and_rewrites_leave_no_moto_objects_behind(dynamo: LocalDynamo) -> None:
    """moto's models once kept every instance they made, for moto's dashboard: each copy a GetItem,
    Query, Scan or UpdateItem made of the items it answered with, each overwritten item, each stream
    record. The objects alive stay those the table holds, however much traffic it serves."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord

    for number in range(5):
        _put(dynamo, f"item{number}", n=number)

    def traffic(rounds: int) -> None:
        for number in range(rounds):
            pk = f"item{number % 5}"
            assert _get(dynamo, pk) is not None
            query = {"TableName": TABLE, "KeyConditionExpression": "pk = :pk"}
            page = dynamo.call("Query", {**query, "ExpressionAttributeValues": {":pk": {"S": pk}}})
            assert page["Count"] == 1
            assert dynamo.call("Scan", {"TableName": TABLE})["Count"] == 5
            dynamo.call(
                "UpdateItem",
                {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": pk}},
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                },
            )
            _put(dynamo, pk, n=number)

    traffic(10)
    items, records = _live(Item), _live(StreamRecord)
    traffic(100)  # 100 rounds made ≈ 1,500 item copies and 200 stream records
    assert _live(Item) <= items + 5
    assert _live(StreamRecord) <= records + 5
    assert dynamo.call("Scan", {"TableName": TABLE})["Count"] == 5
    assert len(dynamo.stream_log(TABLE)) >= 200  # the writes did make their records


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


EVERY_TYPE = {
    "pk": {"S": "every"},
    "text": {"S": 'JSON in a string: {"turn": null, "ok": true}'},
    "n": {"N": "12.5"},
    "blob": {"B": bytes(range(256))},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x00\x01", b"\xff"]},
    "map": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"NULL": True}, {"BOOL": False}]}}},
}


def test_item_reads_and_writes_answer_the_sdk_exactly_over_http(dynamo: LocalDynamo) -> None:
    # Item operations' answers are written as JSON directly rather than by moto's serializer:
    # what the SDK parses back must be the item as written, every attribute type included.
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamo.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    client.put_item(TableName=TABLE, Item=EVERY_TYPE)
    got = client.get_item(TableName=TABLE, Key={"pk": {"S": "every"}}, ConsistentRead=True)["Item"]
    queried = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "every"}},
    )
    batch = client.batch_get_item(RequestItems={TABLE: {"Keys": [{"pk": {"S": "every"}}]}})["Responses"][TABLE]
    updated = client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "every"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    missing = client.get_item(TableName=TABLE, Key={"pk": {"S": "absent"}})
    # a projection of top-level attributes is copied from the item (not through moto's plain-JSON
    # round trip): every type comes back as stored, and only what was asked for
    names = {"#t": "text", "#n": "n", "#b": "blob", "#s": "strings", "#bs": "blobs", "#m": "map", "#x": "nothing"}
    projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
    projected = client.get_item(TableName=TABLE, Key={"pk": {"S": "every"}}, **projection)["Item"]
    projected_batch = client.batch_get_item(RequestItems={TABLE: {"Keys": [{"pk": {"S": "every"}}], **projection}})[
        "Responses"
    ][TABLE]
    nested = client.get_item(
        TableName=TABLE,
        Key={"pk": {"S": "every"}},
        ProjectionExpression="#m.inner[1], numbers",
        ExpressionAttributeNames={"#m": "map"},
    )["Item"]

    def normal(item: dict[str, Any]) -> dict[str, Any]:  # sets come back in any order
        return {k: {t: sorted(v) if t in ("SS", "NS", "BS") else v for t, v in av.items()} for k, av in item.items()}

    assert normal(got) == normal(EVERY_TYPE)
    assert queried["Count"] == 1 and normal(queried["Items"][0]) == normal(EVERY_TYPE)
    assert [normal(item) for item in batch] == [normal(EVERY_TYPE)]
    assert normal(updated) == normal({**EVERY_TYPE, "n": {"N": "13.5"}})
    assert "Item" not in missing
    asked = {name: EVERY_TYPE[name] for name in ("text", "blob", "strings", "blobs", "map")} | {"n": {"N": "13.5"}}
    assert normal(projected) == normal(asked) and [normal(i) for i in projected_batch] == [normal(asked)]
    from moto.dynamodb.models.dynamo_type import Item

    assert getattr(Item.project, "_engram_direct", False)  # the answers above came from the direct copy
    assert normal(nested) == {"map": {"M": {"inner": {"L": [{"N": "3"}]}}}, "numbers": {"NS": ["1", "2.5"]}}


def test_the_endpoint_keeps_connections_open_between_requests(dynamo: LocalDynamo) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", dynamo.port, timeout=30)
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=local",
    }
    answers = []
    for _ in range(2):  # the second request goes over the same socket
        connection.request("POST", "/", body=b"{}", headers=headers)
        response = connection.getresponse()
        answers.append((response.status, json.loads(response.read()), response.will_close))
    connection.close()
    assert answers == [(200, {"TableNames": [TABLE]}, False)] * 2


def test_a_query_reads_its_partition_in_key_order_and_pages_through_it(tmp_path: Path) -> None:
    local = LocalDynamo(tmp_path / "dynamodb", "us-east-1")
    local.start()
    try:
        local.call(
            "CreateTable",
            {
                "TableName": "r",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                    {"AttributeName": "g", "AttributeType": "S"},
                ],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "by_g",
                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
        )
        for pk in ("a", "b", "c"):
            for sk in (5, 1, 3, 2, 4):
                item = {"pk": {"S": pk}, "sk": {"N": str(sk)}, "g": {"S": f"g{sk % 2}"}}
                local.call("PutItem", {"TableName": "r", "Item": item})

        def query(**extra: Any) -> dict[str, Any]:
            request = {
                "TableName": "r",
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": "b"}},
                **extra,
            }
            return local.call("Query", request)

        forward = query()
        first = query(ScanIndexForward=False, Limit=3)
        rest = query(ScanIndexForward=False, ExclusiveStartKey=first["LastEvaluatedKey"])
        ranged = query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":pk": {"S": "b"}, ":lo": {"N": "2"}, ":hi": {"N": "4"}},
        )
        empty = local.call(
            "Query",
            {
                "TableName": "r",
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": "z"}},
            },
        )
        on_index = local.call(
            "Query",
            {
                "TableName": "r",
                "IndexName": "by_g",
                "KeyConditionExpression": "g = :g",
                "ExpressionAttributeValues": {":g": {"S": "g1"}},
            },
        )
    finally:
        local.stop(snapshot=False)

    def keys(page: dict[str, Any]) -> list[tuple[str, int]]:
        return [(item["pk"]["S"], int(item["sk"]["N"])) for item in page["Items"]]

    assert keys(forward) == [("b", 1), ("b", 2), ("b", 3), ("b", 4), ("b", 5)]
    assert keys(first) == [("b", 5), ("b", 4), ("b", 3)]
    assert keys(rest) == [("b", 2), ("b", 1)] and "LastEvaluatedKey" not in rest
    assert keys(ranged) == [("b", 2), ("b", 3), ("b", 4)]
    assert empty["Items"] == [] and empty["Count"] == 0
    assert sorted(keys(on_index)) == [(pk, sk) for pk in "abc" for sk in (1, 3, 5)]


def test_one_update_expression_applied_again_and_again_answers_each_item_exactly(dynamo: LocalDynamo) -> None:
    # moto parses an expression once (cached) and validates a copy of the tree per call, made
    # directly rather than by copy.deepcopy, walked by node class: no call may see what validating
    # an earlier one did, and every clause (SET with functions, REMOVE, ADD) still applies.
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    expression = "ADD #h :one SET #e = if_not_exists(#e, :e), #l = list_append(if_not_exists(#l, :empty), :l) REMOVE #x"
    answers = []
    for pk, value in [("a", "1"), ("b", "2"), ("a", "3"), ("a", "4")]:
        reply = dynamo.call(
            "UpdateItem",
            {
                "TableName": TABLE,
                "Key": {"pk": {"S": pk}},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": {"#h": "hits", "#e": "first", "#l": "seen", "#x": "gone"},
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":e": {"N": value},
                    ":empty": {"L": []},
                    ":l": {"L": [{"N": value}]},
                },
                "ReturnValues": "ALL_NEW",
            },
        )
        answers.append(reply["Attributes"])
    assert answers[-1] == {
        "pk": {"S": "a"},
        "hits": {"N": "3"},
        "first": {"N": "1"},
        "seen": {"L": [{"N": "1"}, {"N": "3"}, {"N": "4"}]},
    }
    assert answers[1] == {"pk": {"S": "b"}, "hits": {"N": "1"}, "first": {"N": "2"}, "seen": {"L": [{"N": "2"}]}}
    assert _get(dynamo, "a") == answers[-1]

    tree = UpdateExpressionParser.make(expression)  # the cached parse the calls shared
    copied = validators.deepcopy(tree)
    assert getattr(validators.deepcopy, "_engram_direct", False)
    assert getattr(DepthFirstTraverser.traverse, "_engram_by_type", False)
    assert copied is not tree and copied.children[0] is not tree.children[0]
    assert copied.children[0].parent is copied and tree.children[0].parent is tree
    assert _shape(copied) == _shape(tree)


def _shape(node: Any) -> Any:
    if isinstance(node, list):
        return [_shape(n) for n in node]
    if hasattr(node, "children"):
        return (type(node).__name__, _shape(node.children))
    return node


HEADER_BLOCKS = [
    b"Host: 127.0.0.1:8000\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nContent-Length: 2\r\n\r\n",
    b"content-type:application/x-amz-json-1.0\r\nX-Repeated: one\r\nx-repeated: two\r\n\r\n",
    b"Folded: first\r\n  second\r\n\tthird\r\nAfter:  \t padded value \r\n\r\n",
    b"Bare-LF: yes\nEmpty:\r\n\r\n",
    b"\r\n",
]


@pytest.mark.parametrize("block", HEADER_BLOCKS)
def test_request_headers_are_read_as_the_standard_library_reads_them(block: bytes) -> None:
    import http.client
    import io

    from engram.local.dynamo import read_headers

    expected = http.client.parse_headers(io.BytesIO(block + b"BODY"))
    rfile = io.BytesIO(block + b"BODY")
    got = read_headers(rfile)
    assert not isinstance(got, tuple)
    assert got.items() == expected.items()
    for name, _ in expected.items():
        for spelling in (name, name.lower(), name.upper()):
            assert got.get(spelling) == expected.get(spelling) and (spelling in got)
    assert got.get("Absent", "default") == "default" and "Absent" not in got
    assert rfile.read() == b"BODY"  # the body is left to read


def test_request_headers_past_the_standard_librarys_limits_are_refused() -> None:
    import io
    from http import HTTPStatus

    from engram.local.dynamo import read_headers

    most = b"".join(f"H{i}: v\r\n".encode() for i in range(99)) + b"\r\n"
    assert len(read_headers(io.BytesIO(most)).items()) == 99  # type: ignore[union-attr]
    many = b"".join(f"H{i}: v\r\n".encode() for i in range(100)) + b"\r\n"
    assert read_headers(io.BytesIO(many)) == (HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
    long = b"H: " + b"v" * 70000 + b"\r\n\r\n"
    assert read_headers(io.BytesIO(long)) == (HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
    assert read_headers(io.BytesIO(b"no colon here\r\n\r\n")) == (HTTPStatus.BAD_REQUEST, "Bad header line")


@pytest.mark.parametrize(
    "parts",
    [
        {"HTTP_HOST": "127.0.0.1:8000", "PATH_INFO": "/", "RAW_URI": "/"},
        {"HTTP_HOST": "localhost", "PATH_INFO": "/a b", "RAW_URI": "/a%20b", "QUERY_STRING": "x=1&y=%2F"},
        {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "4566", "PATH_INFO": "//double", "SCRIPT_NAME": "/root"},
        {"HTTP_HOST": "dynamodb.eu-west-1.amazonaws.com", "PATH_INFO": "/", "wsgi.url_scheme": "https"},
    ],
)
def test_the_url_moto_is_given_is_the_one_its_request_builds(parts: dict[str, str]) -> None:
    from moto.core.request import Request

    from engram.local.dynamo import _raw_url, wsgi_environ

    environ = wsgi_environ("POST", "/", "", b"{}", [], ("127.0.0.1", 8000))
    for name in ("HTTP_HOST", "RAW_URI", "REQUEST_URI"):
        environ.pop(name, None)
    environ.update(parts)
    assert _raw_url(environ) == Request(environ).raw_url
    assert _raw_url(dict(environ)) == Request(dict(environ)).raw_url  # and again, from the cache


def test_answers_carry_moto_shaped_request_ids_and_http_1_0_is_closed(dynamo: LocalDynamo) -> None:
    import re
    import socket

    headers = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=local",
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    answers = []
    for version in ("HTTP/1.1", "HTTP/1.0"):
        with socket.create_connection(("127.0.0.1", dynamo.port), timeout=30) as sock:
            sock.sendall(f"POST / {version}\r\n{head}Content-Length: 2\r\n\r\n{{}}".encode())
            if version == "HTTP/1.1":
                sock.shutdown(socket.SHUT_WR)  # so the server ends the kept-alive connection
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        answers.append(data)
    ids = [re.search(rb"x-amzn-requestid: ([^\r]*)\r\n", answer, re.IGNORECASE) for answer in answers]
    assert all(found and re.fullmatch(rb"[A-Za-z0-9]{52}", found.group(1)) for found in ids)
    assert ids[0].group(1) != ids[1].group(1)  # type: ignore[union-attr]
    assert all(answer.endswith(b'{"TableNames": ["t"]}') for answer in answers)
    assert b"Connection: close" in answers[1] and b"Connection: close" not in answers[0]


def test_queries_on_a_partition_or_an_index_answer_as_moto_does_unpatched(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A query sorts only its partition (by the range key's value), and a query on an index starts
    # from the items unsorted: every answer, page by page, equals moto's own.
    import random

    from moto.dynamodb.models.table import Table

    dynamo.call(
        "CreateTable",
        {
            "TableName": "q",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": kind}
                for name, kind in (("pk", "S"), ("sk", "N"), ("g", "S"), ("r", "S"), ("n", "N"))
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by_g_r",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "r", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "by_g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
                {  # a number: 3 and 3.0 are the same key
                    "IndexName": "by_n",
                    "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    rng = random.Random(5)
    keys = [(pk, sk) for pk in ("a", "b", "c", "d") for sk in (-3, 0, 1.5, 2, 10, 11, 100)]
    rng.shuffle(keys)
    for pk, sk in keys:
        item = {"pk": {"S": pk}, "sk": {"N": str(sk)}, "g": {"S": rng.choice("xy")}, "n": {"N": str(rng.randint(0, 9))}}
        if rng.random() < 0.8:  # the rest are left out of by_g_r
            item["r"] = {"S": rng.choice(["m", "n", "o"])}
        dynamo.call("PutItem", {"TableName": "q", "Item": item})

    requests: list[dict[str, Any]] = []
    for pk in ("b", "z"):
        on_table = {"KeyConditionExpression": "pk = :k", "ExpressionAttributeValues": {":k": {"S": pk}}}
        requests += [on_table, {**on_table, "ScanIndexForward": False, "Limit": 3}]
    requests.append(
        {
            "KeyConditionExpression": "pk = :k AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":k": {"S": "c"}, ":lo": {"N": "0"}, ":hi": {"N": "11"}},
        }
    )
    for index in ("by_g_r", "by_g"):
        on_index = {
            "IndexName": index,
            "KeyConditionExpression": "g = :g",
            "ExpressionAttributeValues": {":g": {"S": "x"}},
        }
        requests += [on_index, {**on_index, "ScanIndexForward": False, "Limit": 4}, {**on_index, "Limit": 5}]
    requests.append(
        {"IndexName": "by_n", "KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "3.0"}}}
    )
    requests.append(
        {
            "IndexName": "by_g_r",
            "KeyConditionExpression": "g = :g AND r > :r",
            "FilterExpression": "n > :n",
            "ExpressionAttributeValues": {":g": {"S": "y"}, ":r": {"S": "m"}, ":n": {"N": "3"}},
        }
    )

    def answers() -> list[list[dict[str, Any]]]:
        pages_of_all = []
        for request in requests:
            pages, start = [], None
            while True:
                page = dynamo.call(
                    "Query", {"TableName": "q", **request, **({"ExclusiveStartKey": start} if start else {})}
                )
                pages.append(page)
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            pages_of_all.append(pages)
        return pages_of_all

    patched = answers()
    assert getattr(Table.query, "_engram_one_partition", False)
    monkeypatch.setattr(Table, "query", Table.query._engram_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(Table, "all_items", Table.all_items._engram_original)  # type: ignore[attr-defined]
    unpatched = answers()
    assert patched == unpatched
    assert sum(len(page["Items"]) for pages in patched for page in pages) > 40
    assert patched[-2][0]["Count"] > 0  # 3.0 found the items stored with 3
    assert any(len(pages) > 1 for pages in patched)  # pages followed through LastEvaluatedKey


_VARIED_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "PutItem",
        {
            "TableName": TABLE,
            "Item": {
                "pk": {"S": "a"},
                "n": {"N": "1.50"},
                "b": {"B": "AAEC/w=="},
                "bs": {"BS": ["AA==", "AQ=="]},
                "ss": {"SS": ["x", "y"]},
                "ns": {"NS": ["1", "2.5"]},
                "m": {"M": {"l": {"L": [{"S": "é"}, {"NULL": True}, {"BOOL": False}, {"M": {"b": {"B": "Zm9v"}}}]}}},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValues": "ALL_OLD",
            "ReturnConsumedCapacity": "TOTAL",
        },
    ),
    ("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}),
    (
        "UpdateItem",
        {
            "TableName": TABLE,
            "Key": {"pk": {"S": "a"}},
            "UpdateExpression": "SET #n = #n + :one, m.l[0] = :s ADD ns :ns REMOVE b",
            "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": {"S": "z"}, ":ns": {"NS": ["7"]}},
            "ReturnValues": "ALL_NEW",
        },
    ),
    (
        "UpdateItem",
        {"TableName": TABLE, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET x = :missing"},
    ),
    ("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "m.l[3], ns"}),
    ("GetItem", {"TableName": TABLE, "Key": {"pk": ["not", "a", "map"]}}),
    ("GetItem", {"TableName": TABLE, "Key": {"pk": {"B": "not base64!"}}}),
    (
        "Query",
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :k",
            "ExpressionAttributeValues": {":k": {"S": "a"}},
            "Limit": 1,
        },
    ),
    (
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t1"}, "b": {"B": "AQI="}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "a"}},
                        "UpdateExpression": "SET n = :v",
                        "ConditionExpression": "n > :v",
                        "ExpressionAttributeValues": {":v": {"N": "100"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        },
    ),
    ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t2"}}}}]}),
    (
        "BatchWriteItem",
        {
            "RequestItems": {
                TABLE: [{"PutRequest": {"Item": {"pk": {"S": f"w{i}"}, "n": {"N": str(i)}}}} for i in range(3)]
            }
        },
    ),
    (
        "BatchGetItem",
        {"RequestItems": {TABLE: {"Keys": [{"pk": {"S": "w1"}}, {"pk": {"S": "t2"}}], "ConsistentRead": True}}},
    ),
    ("DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": "w0"}}, "ReturnValues": "ALL_OLD"}),
    ("Scan", {"TableName": TABLE, "FilterExpression": "attribute_exists(n)", "Limit": "2"}),
    ("Scan", {"TableName": TABLE, "Limit": "many"}),
    ("DescribeTable", {"TableName": TABLE}),
    ("DescribeTable", {"TableName": "absent"}),
]


def test_requests_parsed_by_compiled_shapes_answer_and_store_as_moto_does_unpatched(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each request's parsed parameters equal moto's own parser's, and the same requests applied
    # with and without the compiled parsing give the same answers, errors and stored items.
    from moto.core.parse import JSONParser
    from moto.core.request import determine_request_protocol
    from moto.core.responses import PROTOCOL_PARSERS, get_service_model
    from moto.dynamodb.responses import DynamoHandler

    from engram.local.dynamo import _RequestShapeCompiler

    compiled = DynamoHandler.parse_parameters
    assert getattr(compiled, "_engram_compiled", False)
    model = get_service_model("dynamodb")
    # the SDK's content type takes the compiled path (any other goes through moto's own)
    assert PROTOCOL_PARSERS[determine_request_protocol(model, "application/x-amz-json-1.0")] is JSONParser
    compiler = _RequestShapeCompiler()
    for operation, body in _VARIED_REQUESTS:
        shape = model.operation_model(operation).input_shape
        raw = json.dumps(body).encode()
        try:
            expected: Any = JSONParser(model.operation_model(operation), map_type=dict).parse({"body": raw})  # type: ignore[typeddict-item]
        except Exception as exc:  # the failure itself is compared
            expected = (type(exc), str(exc))
        try:
            got: Any = compiler.function(shape)(json.loads(raw))
        except Exception as exc:
            got = (type(exc), str(exc))
        assert got == expected, operation

    def run() -> tuple[list[Any], Any, list[Any]]:
        start = dynamo.latest_position()
        answers: list[Any] = []
        for operation, body in _VARIED_REQUESTS:
            try:
                answer = dynamo.call(operation, body)
            except DynamoError as exc:
                answer = (exc.status, exc.body)
            if operation == "DescribeTable" and isinstance(answer, dict):
                answer["Table"].pop("CreationDateTime", None)
            answers.append(answer)
        stored = dynamo.call("Scan", {"TableName": TABLE, "ConsistentRead": True})["Items"]
        records = [
            (r["eventName"], r["dynamodb"].get("Keys"), r["dynamodb"].get("NewImage"), r["dynamodb"].get("OldImage"))
            for r in dynamo.stream_log(TABLE).read(start, 1000)
        ]
        for pk in ("a", "t1", "t2", "w1", "w2"):
            dynamo.call("DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": pk}}})
        return answers, sorted(stored, key=json.dumps), records

    patched = run()
    monkeypatch.setattr(DynamoHandler, "parse_parameters", compiled._engram_original)  # type: ignore[attr-defined]
    original_enrich = DynamoHandler._enrich_response._engram_original  # type: ignore[attr-defined]
    monkeypatch.setattr(DynamoHandler, "_enrich_response", staticmethod(original_enrich))
    unpatched = run()
    assert patched[0] == unpatched[0]
    assert patched[1] == unpatched[1] and len(patched[1]) == 4  # t1: its transaction was cancelled
    assert patched[2] == unpatched[2] and len(patched[2]) >= 7  # the stream records the writes made
    assert sum(isinstance(answer, tuple) for answer in patched[0]) >= 5  # the refused requests were refused


@pytest.mark.parametrize(
    "body",
    [
        '{"Item": {"pk": {"S": "a"}}}',
        '{"Item": {"pk": {"S": "<RequestId>old</RequestId> and <RequestId>x</RequestId>"}}}',
        "<R><RequestId>old</RequestId></R>",
        "<RequestId>unclosed",
        "",
        b"<RequestId>old</RequestId>",
        None,
    ],
)
def test_answers_get_their_request_id_as_moto_writes_it_unpatched(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch, body: Any
) -> None:
    # The request id search runs only where it can match: every body comes back as moto's own
    # (including the odd one that holds the XML tag in a string), headers too.
    import moto.core.responses as responses
    from moto.dynamodb.responses import DynamoHandler

    enrich = DynamoHandler._enrich_response
    assert getattr(enrich, "_engram_skip", False)
    monkeypatch.setattr(responses, "gen_amzn_requestid_long", lambda headers: headers.update(rid="ID") or "ID")
    expected = enrich._engram_original({"status": 400}, body)  # type: ignore[attr-defined]
    assert enrich({"status": 400}, body) == expected
    assert expected[0] == {"status": "400", "rid": "ID"}


def _answers_and_items(
    dynamo: LocalDynamo, requests: list[tuple[str, dict[str, Any]]], keys: tuple[str, ...]
) -> tuple[list[Any], list[Any]]:
    """Each request's answer (or error), then the items stored, which are then deleted."""
    answers: list[Any] = []
    for operation, body in requests:
        try:
            answers.append(dynamo.call(operation, body))
        except DynamoError as exc:
            answers.append((exc.status, exc.body))
    stored = dynamo.call("Scan", {"TableName": TABLE, "ConsistentRead": True})["Items"]
    for pk in keys:
        dynamo.call("DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": pk}}})
    return answers, sorted(stored, key=json.dumps)


def _update(expression: str, names: dict[str, str], pk: str = "u") -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "TableName": TABLE,
        "Key": {"pk": {"S": pk}},
        "UpdateExpression": expression,
        "ExpressionAttributeValues": {":v": {"N": "1"}, ":w": {"N": "2"}},
        "ReturnValues": "ALL_NEW",
    }
    if names:
        body["ExpressionAttributeNames"] = names
    return "UpdateItem", body


# The same expression with names that pass the checks and names that fail them, in both orders,
# and expressions that fail each of the three checks moto runs before it reads the item.
_CHECKED_UPDATES = [
    _update("SET #a = :v ADD #b :w", {"#a": "x", "#b": "y"}),
    _update("SET #a = :v ADD #b :w", {"#a": "x", "#b": "y"}),
    _update("SET #a = :v ADD #b :w", {"#a": "pk", "#b": "y"}),  # a key attribute
    _update("SET #a = :v ADD #b :w", {"#a": "x", "#b": "x"}),  # the same attribute twice
    _update("SET #a = :v ADD #b :w", {"#a": "x", "#b": "y"}, pk="v"),
    _update("SET #a = :v ADD #b :w", {"#b": "y"}),  # a name without a value
    _update("SET x = :v SET y = :w", {}),  # two SET clauses
    _update("SET x = :v, x = :w", {}),  # overlapping paths
    _update("SET x.y = :v, x = :w", {}),
    _update("SET x = :v REMOVE y ADD n :w", {}),
    _update("SET x = :v REMOVE y ADD n :w", {}, pk="v"),
    _update("SET pk = :v", {}),
]


def test_update_expression_checks_run_once_per_expression_and_names_as_moto_answers_unpatched(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.parsing import validators

    checked = _CallCount(monkeypatch, validators.ActionCountValidator, "verify_action_counts")

    def run() -> tuple[list[Any], list[Any]]:
        return _answers_and_items(dynamo, _CHECKED_UPDATES, ("u", "v"))

    cls = validators.UpdateExpressionValidator
    assert getattr(cls.validate, "_engram_once", False)
    patched = run()
    checked.take()  # an expression and names that passed are not checked again; one that failed is
    dynamo.call(*_CHECKED_UPDATES[0])
    assert checked.count == 0
    with pytest.raises(DynamoError):
        dynamo.call(*_CHECKED_UPDATES[2])
    assert checked.count > 0
    dynamo.call("DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": "u"}}})
    monkeypatch.setattr(cls, "validate", cls.validate._engram_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(cls, "__init__", cls.__init__._engram_original)  # type: ignore[misc]
    checked.take()
    unpatched = run()
    assert checked.count > 0  # moto's own path runs the checks
    assert patched == unpatched
    assert sum(isinstance(answer, tuple) for answer in patched[0]) == 7  # the refused ones were refused
    assert patched[0][1]["Attributes"] == {"pk": {"S": "u"}, "x": {"N": "1"}, "y": {"N": "4"}}
    assert len(patched[1]) == 2


_SIZED_VALUES: list[dict[str, Any]] = [
    {"S": "plain"},
    {"S": "ünïcödé ✓"},
    {"S": ""},
    {"N": "12.50"},
    {"N": "-1e10"},
    {"B": "AAECAw=="},
    {"B": b"\x00\x01\x02"},
    {"BOOL": True},
    {"BOOL": False},
    {"NULL": True},
    {"SS": ["a", "ß", ""]},
    {"NS": ["1", "2.5"]},
    {"BS": ["AAE=", b"\x01\x02"]},
    {"L": [{"S": "x"}, {"N": "3"}, {"L": [{"BOOL": False}]}, {"M": {"k": {"S": "v"}}}]},
    {"M": {"a": {"S": "x"}, "é": {"M": {"n": {"NS": ["1"]}}}, "l": {"L": []}}},
    {"M": {}},
]


def test_sizes_are_moto_s_own_and_the_item_limit_fails_where_moto_fails() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    from engram.local.dynamo import _measure_sizes_directly

    _measure_sizes_directly()
    originals = DynamoType.size._engram_originals  # type: ignore[attr-defined]
    for raw in _SIZED_VALUES:
        value = DynamoType(raw)
        assert value.size() == originals["size"](value), raw
    attrs = {f"a{i}": raw for i, raw in enumerate(_SIZED_VALUES)}
    item = Item(DynamoType({"S": "h"}), None, attrs)
    reference = Item.__new__(Item)
    originals["item_init"](reference, DynamoType({"S": "h"}), None, attrs)
    assert item.attrs == reference.attrs and list(item.attrs) == list(reference.attrs)
    assert item.size() == originals["item_size"](reference) > 0

    # at the limit: an item that just fits, one byte more fails, in the same attribute as moto's
    for extra in (0, 1):
        pad = 405_000 - item.size() - len("pad") + extra
        big = {**attrs, "pad": {"S": "x" * pad}, "after": {"S": "y"}}
        outcomes = []
        for init in (Item.__init__, originals["item_init"]):
            target = Item.__new__(Item)
            try:
                init(target, DynamoType({"S": "h"}), None, big)
                outcomes.append(("ok", list(target.attrs)))
            except ItemSizeTooLarge:
                outcomes.append(("too large", list(target.attrs)))
        assert outcomes[0] == outcomes[1]
        assert outcomes[0][0] == "too large"  # "after" no longer fits either way
        assert outcomes[0][1] == list(attrs) + (["pad"] if extra == 0 else [])
    # setting an attribute on an existing item: the check moto makes, the same answer
    answers = []
    for pad in (405_000 - item.size() - 3, 405_000 - item.size() - 3 + 1):
        results = []
        for setitem in (LimitedSizeDict.__setitem__, originals["setitem"]):
            attributes = LimitedSizeDict()
            dict.update(attributes, item.attrs)
            try:
                setitem(attributes, "pad", DynamoType({"S": "x" * pad}))
                results.append(sorted(attributes))
            except ItemSizeTooLarge:
                results.append("too large")
        assert results[0] == results[1]
        answers.append(results[0])
    assert answers[0] == sorted([*attrs, "pad"]) and answers[1] == "too large"  # exactly at the limit, then past it


def test_results_are_converted_as_moto_converts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    from moto.dynamodb.models import utilities
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from engram.local.dynamo import _convert_results_directly

    class Described:  # a model object: moto converts what its to_json gives
        def to_json(self) -> dict[str, Any]:
            return {
                "Name": "x",
                "When": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
                "Values": [DynamoType({"N": "1"})],
            }

    class Typed(DynamoType):  # a subclass goes through moto's own path
        pass

    item = Item(DynamoType({"S": "h"}), None, {f"a{i}": raw for i, raw in enumerate(_SIZED_VALUES)})
    results: list[Any] = [
        {"Item": item.attrs, "ConsumedCapacity": {"CapacityUnits": 0.5, "TableName": TABLE}},
        {"Responses": {TABLE: [item.attrs, item.attrs]}, "UnprocessedKeys": {}, "Count": 2, "Flag": True},
        {"Items": [], "LastEvaluatedKey": None, "Nested": [[{"k": DynamoType({"BS": ["AAE=", b"\\x01"]})}]]},
        {"Described": Described(), "At": datetime.datetime(2026, 1, 1), "Typed": Typed({"B": "AAE="})},
        item,
        "text",
        b"bytes",
        None,
    ]
    _convert_results_directly()
    converted = utilities.dynamo_to_dict
    assert getattr(converted, "_engram_direct", False)
    got = [converted(result) for result in results]
    monkeypatch.setattr(utilities, "dynamo_to_dict", converted._engram_original)  # type: ignore[attr-defined]
    expected = [utilities.dynamo_to_dict(result) for result in results]  # moto's own, all the way down
    assert got == expected
    assert [type(value) for value in got] == [type(value) for value in expected]
    assert got[0]["Item"]["a5"] == {"B": b"\x00\x01\x02\x03"}  # base64 from the wire, as bytes


def _conditional(
    operation: str, condition: str, values: dict[str, Any] | None, **extra: Any
) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"TableName": TABLE, "ConditionExpression": condition, **extra}
    text = condition + str(extra.get("UpdateExpression", ""))
    names = {name: attribute for name, attribute in (("#p", "pk"), ("#s", "state")) if name in text}
    if names:
        body["ExpressionAttributeNames"] = names
    if values is not None:
        body["ExpressionAttributeValues"] = values
    return operation, body


_OPEN = {":open": {"S": "open"}}
_LISTED = {":l": {"L": [{"S": "a"}]}}
# The same conditions again and again on items that change: each answer depends on the item
# (passes, then fails), and the errors (a missing or unused value, a bad expression) repeat.
_CONDITIONAL_REQUESTS = [
    _conditional("PutItem", "attribute_not_exists(#p)", None, Item={"pk": {"S": "c"}, "state": {"S": "open"}}),
    _conditional("PutItem", "attribute_not_exists(#p)", None, Item={"pk": {"S": "c"}, "state": {"S": "shut"}}),
    _conditional(
        "UpdateItem",
        "#s = :open",
        _OPEN,
        Key={"pk": {"S": "c"}},
        UpdateExpression="SET #s = :open",
        ReturnValues="ALL_NEW",
    ),
    _conditional(
        "UpdateItem", "#s = :open", {":open": {"S": "shut"}}, Key={"pk": {"S": "c"}}, UpdateExpression="SET #s = :open"
    ),
    _conditional("UpdateItem", "#s = :open", _OPEN, Key={"pk": {"S": "c"}}, UpdateExpression="SET #s = :open"),
    _conditional("UpdateItem", "#s = :missing", _OPEN, Key={"pk": {"S": "c"}}, UpdateExpression="SET #s = :open"),
    _conditional("DeleteItem", "#s = = :open", _OPEN, Key={"pk": {"S": "c"}}),
    _conditional(
        "UpdateItem",
        "attribute_not_exists(l) OR l = :l",
        _LISTED,
        Key={"pk": {"S": "c"}},
        UpdateExpression="SET l = :l",
    ),
    _conditional(
        "UpdateItem",
        "attribute_not_exists(l) OR l = :l",
        {**_LISTED, ":more": {"L": [{"S": "b"}]}},
        Key={"pk": {"S": "c"}},
        UpdateExpression="SET l = list_append(l, :more)",
    ),
    _conditional(
        "UpdateItem",
        "attribute_not_exists(l) OR l = :l",
        _LISTED,
        Key={"pk": {"S": "c"}},
        UpdateExpression="SET l = :l",
    ),
    (
        "TransactWriteItems",
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "c"}},
                        "ConditionExpression": "#s = :open",
                        "UpdateExpression": "SET n = :one",
                        "ExpressionAttributeNames": {"#s": "state"},
                        "ExpressionAttributeValues": {**_OPEN, ":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {"pk": {"S": "d"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        },
    ),
    _conditional("DeleteItem", "#s = :open", _OPEN, Key={"pk": {"S": "c"}}, ReturnValues="ALL_OLD"),
    _conditional("DeleteItem", "#s = :open", _OPEN, Key={"pk": {"S": "c"}}, ReturnValues="ALL_OLD"),
]


def _conditions_patched_and_unpatched(
    dynamo: LocalDynamo,
    monkeypatch: pytest.MonkeyPatch,
    requests: list[tuple[str, dict[str, Any]]],
    keys: tuple[str, ...],
) -> tuple[Any, Any, int, int]:
    """The answers and items of ``requests`` with the condition parse cache, then with moto's own
    parse (the same keys deleted between), and how many parses each made."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parses = _CallCount(monkeypatch, ConditionExpressionParser, "_parse_paths")
    parse = ConditionExpressionParser.parse
    assert getattr(parse, "_engram_cached", False)
    patched = _answers_and_items(dynamo, requests, keys)
    parses_patched = parses.take()
    monkeypatch.setattr(ConditionExpressionParser, "parse", parse._engram_original)  # type: ignore[attr-defined]
    unpatched = _answers_and_items(dynamo, requests, keys)
    return patched, unpatched, parses_patched, parses.count


def test_conditions_parsed_once_per_text_names_and_values_answer_as_moto_does_unpatched(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    patched, unpatched, parses_patched, parses = _conditions_patched_and_unpatched(
        dynamo, monkeypatch, _CONDITIONAL_REQUESTS, ("c", "d")
    )
    assert patched == unpatched
    refused = [answer[1]["__type"].rpartition("#")[2] for answer in patched[0] if isinstance(answer, tuple)]
    assert refused.count("ConditionalCheckFailedException") == 4 and refused.count("InternalFailure") == 2
    assert "TransactionCanceledException" in refused  # "d" was not there
    assert patched[0][-2]["Attributes"] == {
        "pk": {"S": "c"},
        "state": {"S": "open"},
        "l": {"L": [{"S": "a"}, {"S": "b"}]},
    }
    assert patched[1] == []
    assert 0 < parses_patched < parses  # repeated scalar conditions were parsed once; list-valued ones every time


def _copied_shape(value: Any, seen: dict[int, int]) -> Any:
    """A value's structure with each object numbered by first sight (shows what a copy shares)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    if isinstance(value, DynamoType | Item | list | dict):
        number = seen.setdefault(id(value), len(seen))
        if isinstance(value, DynamoType):
            return ("T", number, type(value).__name__, value.type, _copied_shape(value.value, seen))
        if isinstance(value, Item):
            parts = [value.hash_key, value.range_key, value.attrs]
            return ("I", number, type(value.attrs).__name__, [_copied_shape(part, seen) for part in parts])
        if isinstance(value, list):
            return ("L", number, [_copied_shape(v, seen) for v in value])
        return ("D", number, [(k, _copied_shape(v, seen)) for k, v in value.items()])
    return value


def test_items_and_values_are_copied_as_moto_copies_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from engram.local.dynamo import _copy_items_directly

    _copy_items_directly()
    assert getattr(DynamoType.__deepcopy__, "_engram_direct", False)
    originals = DynamoType.__deepcopy__._engram_originals  # type: ignore[attr-defined]
    item = Item(DynamoType({"S": "h"}), DynamoType({"N": "1"}), {f"a{i}": raw for i, raw in enumerate(_SIZED_VALUES)})
    shared = DynamoType({"L": [{"S": "x"}]})
    dict.__setitem__(item.attrs, "once", shared)  # one value under two names: a copy shares it too
    dict.__setitem__(item.attrs, "twice", shared)
    shared.value.append({"raw": ["not", "a", "DynamoType"]})  # copied by copy.deepcopy, as moto does
    values = [item, *item.attrs.values(), [item, item]]

    def copies() -> list[Any]:
        made = [copy.deepcopy(value) for value in values]
        return [_copied_shape(value, {}) for value in made]

    direct = copies()
    copied = copy.deepcopy(item)  # a copy indeed: changing it leaves the item as it was
    copied.attrs["a13"].value[0].value = "changed"
    copied.attrs["once"].value.pop()
    assert item.attrs["a13"].value[0].value == "x" and len(item.attrs["twice"].value) == 2
    assert copied.attrs["twice"] is copied.attrs["once"] is not shared
    monkeypatch.setattr(DynamoType, "__deepcopy__", originals["value"])
    monkeypatch.setattr(Item, "__deepcopy__", originals["item"])
    assert direct == copies()


def _tree_shape(value: Any, seen: dict[int, int]) -> Any:
    """A tree's structure with each node and list numbered by first sight, parent links included."""
    if type(value) in (str, int, float, bool, type(None)):
        return value
    if id(value) in seen:
        return ("seen", seen[id(value)])
    seen[id(value)] = len(seen)
    if type(value) is list:
        return ("list", [_tree_shape(v, seen) for v in value])
    return (type(value).__name__, [(name, _tree_shape(v, seen)) for name, v in vars(value).items()])


_UPDATE_EXPRESSIONS = [
    "SET #1 = :0, #2 = :1, #3 = :2",
    "ADD access_count :one SET version = version + :one",
    "SET a.b[2].c = if_not_exists(a.b[2].c, :z) - :one REMOVE x[1], x[3], #y.z DELETE s :s",
    "SET l = list_append(:new, list_append(l, :more)), #m.#n = #m.#o ADD n :one",
]


def test_update_trees_are_copied_by_plan_as_the_direct_copy_makes_them(dynamo: LocalDynamo) -> None:
    # Each parsed tree gets a function that builds its copy: the same nodes, lists and scalars,
    # linked the same way (children and parents), none of them the tree's own.
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    planned = validators.deepcopy
    assert getattr(planned, "_engram_planned", False)
    direct = planned._engram_original  # type: ignore[attr-defined]
    for expression in _UPDATE_EXPRESSIONS:
        tree = UpdateExpressionParser.make(expression)
        before = _tree_shape(tree, {})
        first, second = planned(tree), planned(tree)
        reference = direct(tree)
        assert _tree_shape(first, {}) == _tree_shape(second, {}) == _tree_shape(reference, {}) == before, expression
        in_tree = {id(v) for v in _objects(tree)}
        assert not in_tree & {id(v) for v in _objects(first)}  # nothing shared but scalars
        assert not {id(v) for v in _objects(first)} & {id(v) for v in _objects(second)}
        first.children[0].children.clear()  # changing a copy leaves the tree and other copies alone
        assert _tree_shape(tree, {}) == before == _tree_shape(second, {})
    subtree = UpdateExpressionParser.make(_UPDATE_EXPRESSIONS[2]).children[0]
    assert _tree_shape(planned(subtree), {}) == _tree_shape(direct(subtree), {})  # up through its parent too
    assert planned([1, "a"]) == [1, "a"] and planned({"k": [1]}, {}) == {"k": [1]}  # anything else: as before


def _objects(value: Any) -> list[Any]:
    found: dict[int, Any] = {}
    pending = [value]
    while pending:
        current = pending.pop()
        if type(current) in (str, int, float, bool, type(None)) or id(current) in found:
            continue
        found[id(current)] = current
        pending.extend(current if type(current) is list else vars(current).values())
    return list(found.values())


def test_stream_records_are_read_back_from_moto_s_own_json_as_whole_records_were(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The JSON moto writes of a record's dynamodb part (to measure it) read back, with its size,
    # is what converting the whole record gave: every type, every view, insert, change, removal.
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models import table as tables
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from engram.local.dynamo import _plain_json, stream_record_json

    init = tables.StreamRecord.__init__
    assert getattr(init, "_engram_kept", False)
    table = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    old = Item(DynamoType({"S": "every"}), None, EVERY_TYPE)
    new = Item(DynamoType({"S": "every"}), None, {**EVERY_TYPE, "n": {"N": "13"}, "added": {"BOOL": True}})
    made = 0
    for view in ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"):
        for event, before, after in (("INSERT", None, new), ("MODIFY", old, new), ("REMOVE", old, None)):
            record = tables.StreamRecord(table, view, event, before, after, 7)
            assert record._engram_dynamodb_json  # type: ignore[attr-defined]
            whole = _plain_json(record.to_json())
            assert stream_record_json(record) == {"eventName": event, "dynamodb": whole["dynamodb"]}
            assert whole["dynamodb"]["SizeBytes"] > 100
            made += 1
    assert made == 12

    sent = {**EVERY_TYPE, "blob": {"B": "AAEC/w=="}, "blobs": {"BS": ["AAE=", "/w=="]}}  # base64 on the wire

    def written() -> list[Any]:
        start = dynamo.latest_position()
        dynamo.call("PutItem", {"TableName": TABLE, "Item": sent})
        dynamo.call(
            "UpdateItem",
            {
                "TableName": TABLE,
                "Key": {"pk": {"S": "every"}},
                "UpdateExpression": "SET n = :n REMOVE blobs",
                "ExpressionAttributeValues": {":n": {"N": "1"}},
            },
        )
        dynamo.call("DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": "every"}}})
        records = json.loads(json.dumps(dynamo.stream_log(TABLE).read(start, 100)))  # the log's are kept
        for record in records:
            del record["eventID"], record["dynamodb"]["SequenceNumber"]  # numbered by write
            del record["dynamodb"]["ApproximateCreationDateTime"]  # the clock's, and moto's size
            assert record["dynamodb"].pop("SizeBytes") > 100  # counts the time's digits: compared above
        return records

    kept = written()
    monkeypatch.setattr(tables.StreamRecord, "__init__", init._engram_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(tables, "dynamo_json_dump", tables.dynamo_json_dump._engram_original)  # type: ignore[attr-defined]
    whole = written()
    assert kept == whole and [r["eventName"] for r in kept] == ["INSERT", "MODIFY", "REMOVE"]


def _setup_environ(case: dict[str, Any]) -> dict[str, Any]:
    from engram.local.dynamo import wsgi_environ

    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Host": "127.0.0.1:8000",
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/eu-west-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=local",
        **case.get("headers", {}),
    }
    body = case.get("body", b'{"TableName": "t", "Key": {"pk": {"S": "a"}}}')
    pairs = [(name, value) for name, value in headers.items() if value is not None]
    environ = wsgi_environ("POST", case.get("path", "/"), case.get("query", ""), body, pairs, ("127.0.0.1", 8000))
    environ.update(case.get("environ", {}))
    for name in case.get("without", ()):
        environ.pop(name)
    if case.get("buffered"):
        environ["wsgi.input"] = io.BufferedReader(environ["wsgi.input"])
    return environ


_SETUP_CASES: list[dict[str, Any]] = [
    {},  # the lean client's and local mode's own
    {"headers": {"User-Agent": "Boto3/1.40 md/Botocore#1.40 ua/2.1 os/linux region/ap-south-1"}},
    {"headers": {"Host": "dynamodb.sa-east-1.amazonaws.com"}},  # a region in the URL
    {"headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20200101/us-west-2/dynamodb"}},
    {"headers": {"Authorization": "Basic dXNlcg=="}},  # no region in it, no access key
    {"headers": {"Authorization": None}},
    {"headers": {"Host": None}},  # moto writes the host into the environ
    {"headers": {"x-moto-account-id": "111122223333"}},
    {"query": "a=1&b=&Action=ListTables"},
    {"body": b'{"TableName": "t&Action=ListTables", "Key": {}}'},  # a body that reads as a query
    {"body": b""},  # an empty body: the query string is the headers
    {"body": b'{"TableName": "\xff"}'},  # not UTF-8: moto's error
    {"body": b'{"TableName": "t", "Key": 1}'},  # moto's parser refuses it
    {"without": ["RAW_URI"]},
    {"path": "//odd//path", "environ": {"RAW_URI": "http://127.0.0.1:8000/full?x=1"}},
    {"headers": {"Content-Type": "application/x-www-form-urlencoded"}, "body": b"Action=ListTables&Limit=3"},
    {"headers": {"Content-Type": "application/json"}},
    {"headers": {"Content-Encoding": "gzip"}, "body": __import__("gzip").compress(b'{"TableName": "t"}')},
    {"environ": {"CONTENT_LENGTH": "999"}},  # a body cut short: werkzeug's error
    {"environ": {"CONTENT_LENGTH": "12"}},  # a length shorter than the body: that much is read
    {"environ": {"CONTENT_LENGTH": " 45"}},
    {"environ": {"CONTENT_LENGTH": "x"}},
    {"environ": {"HTTP_TRANSFER_ENCODING": "chunked"}},
    {"environ": {"wsgi.input_terminated": True}},
    {"buffered": True},  # a stream that is not in memory
]


def _set_up(setup: Any, environ: dict[str, Any]) -> Any:
    """A DynamoHandler set up by ``setup`` for a request of this environ: its state, or the failure."""
    from moto.core.request import Request
    from moto.dynamodb.responses import DynamoHandler

    request = Request(environ)
    handler = DynamoHandler()
    try:
        setup(handler, request, request.raw_url)
    except Exception as exc:
        return (type(exc), str(exc))
    state = dict(vars(handler))
    state["headers"] = list(state["headers"].items())
    state["form_data"] = (type(state["form_data"]), list(state["form_data"].items(multi=True)))
    made = state.pop("normalized_request")
    assert made is request
    state["request"] = (
        request.get_data(),
        request.stream.read(),
        list(request.form.items(multi=True)),
        list(request.files.items(multi=True)),
        {k: v for k, v in request.environ.items() if k not in ("wsgi.input", "wsgi.errors", "werkzeug.request")},
    )
    return state


def test_requests_are_set_up_as_moto_sets_them_up_unpatched(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each request leaves the handler (and the request) as moto's own set-up does, the odd ones too;
    # the same requests then answer and store the same as with moto's own set-up.
    import datetime

    import moto.core.responses as responses
    from moto.dynamodb.responses import DynamoHandler

    setup = DynamoHandler.setup_class
    assert getattr(setup, "_engram_direct", False)
    original = setup._engram_original  # type: ignore[attr-defined]
    access_key = DynamoHandler.get_access_key
    monkeypatch.setattr(responses, "utcnow", lambda: datetime.datetime(2026, 12, 3, 0, 1, 2, 345678))
    for case in _SETUP_CASES:
        got = _set_up(setup, _setup_environ(case))
        got_again = _set_up(setup, _setup_environ(case))  # what is kept per input gives the same
        with monkeypatch.context() as unpatched:
            unpatched.setattr(DynamoHandler, "get_access_key", access_key._engram_original)  # type: ignore[attr-defined]
            expected = _set_up(original, _setup_environ(case))
        assert got == got_again == expected, case
    with monkeypatch.context() as account:  # the account moto is told to use, over the request's
        account.setenv("MOTO_ACCOUNT_ID", "444455556666")
        got = _set_up(setup, _setup_environ(_SETUP_CASES[7]))
        account.setattr(DynamoHandler, "get_access_key", access_key._engram_original)  # type: ignore[attr-defined]
        assert got == _set_up(original, _setup_environ(_SETUP_CASES[7]))
        assert got["current_account"] == "444455556666"
    refused = [case for case in _SETUP_CASES if isinstance(_set_up(setup, _setup_environ(case)), tuple)]
    assert len(refused) == 6 and _SETUP_CASES[11] in refused  # moto's errors (a body not UTF-8, cut short...)
    from moto.core.request import Request

    parsers = _CallCount(monkeypatch, Request, "make_form_data_parser")
    assert isinstance(_set_up(setup, _setup_environ({})), dict) and parsers.count == 0  # the SDK's: set up directly
    _set_up(setup, _setup_environ(_SETUP_CASES[16]))
    assert parsers.count == 1  # another content type: moto's own set-up
    assert _set_up(setup, _setup_environ(_SETUP_CASES[1]))["region"] == "ap-south-1"
    assert _set_up(setup, _setup_environ(_SETUP_CASES[2]))["region"] == "sa-east-1"

    def run() -> tuple[list[Any], list[Any]]:
        answers, stored = _answers_and_items(dynamo, _VARIED_REQUESTS, ("a", "t1", "t2", "w1", "w2"))
        for answer in answers:
            if isinstance(answer, dict) and "Table" in answer:
                answer["Table"].pop("CreationDateTime", None)
        return answers, stored

    patched = run()
    monkeypatch.setattr(DynamoHandler, "setup_class", original)
    monkeypatch.setattr(DynamoHandler, "get_access_key", access_key._engram_original)  # type: ignore[attr-defined]
    assert run() == patched
    assert sum(isinstance(answer, tuple) for answer in patched[0]) >= 5 and len(patched[1]) == 4


def _varied_update(expression: str, values: dict[str, Any] | None = None, pk: str = "w") -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "TableName": TABLE,
        "Key": {"pk": {"S": pk}},
        "UpdateExpression": expression,
        "ReturnValues": "ALL_NEW",
    }
    values = {":one": {"N": "1"}, ":s": {"SS": ["a", "b"]}, ":l": {"L": [{"S": "x"}]}, **(values or {})}
    used = {name: value for name, value in values.items() if name in expression}
    if used:
        body["ExpressionAttributeValues"] = used
    return "UpdateItem", body


# Every clause, the functions and arithmetic, each expression at least twice (the second time after
# its checks passed), and each later pass's error from an expression that passed on the item before.
_VARIED_UPDATES = [
    _varied_update("ADD n :one"),
    _varied_update("ADD n :one"),
    _varied_update("ADD tags :s"),
    _varied_update("DELETE tags :s"),
    _varied_update("SET l = list_append(if_not_exists(l, :l), :l), m = if_not_exists(m, :one)"),
    _varied_update("SET l = list_append(if_not_exists(l, :l), :l), m = if_not_exists(m, :one)"),
    _varied_update("SET n = n + :one, k = n - :one REMOVE m"),
    _varied_update("SET n = n + :one, k = n - :one REMOVE m"),
    _varied_update("SET g = :one"),
    _varied_update("SET x = g + :one"),
    _varied_update("SET y = list_append(:l, :l)"),
    _varied_update("SET g = :l"),
    _varied_update("SET x = g + :one"),  # not a number now
    _varied_update("SET y = list_append(g, :l)"),
    _varied_update("SET g = :one"),
    _varied_update("SET y = list_append(g, :l)"),  # not a list now
    _varied_update("SET z = g - :one"),
    _varied_update("REMOVE g"),
    _varied_update("SET z = g - :one"),  # gone now
    _varied_update("REMOVE l[0], tags"),
    _varied_update("REMOVE l[0], tags"),
    _varied_update("ADD n :one", pk="fresh"),  # an item the update creates
]


def test_update_passes_with_nothing_to_do_are_skipped_and_answers_stay_moto_s(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A later pass is skipped where the expression has no node it acts on; walks call a pass's
    # per-child hook only where it has one. Answers, errors and items stay unpatched moto's.
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]

    traverse = DepthFirstTraverser.traverse
    assert getattr(traverse, "_engram_by_type", False)
    walks = _CallCount(monkeypatch, DepthFirstTraverser, "traverse")

    def run() -> tuple[list[Any], list[Any]]:
        return _answers_and_items(dynamo, _VARIED_UPDATES, ("w", "fresh"))

    patched = run()
    walks_patched = walks.take()
    cls = validators.UpdateExpressionValidator
    # moto's own walk from now on, counted the same way
    monkeypatch.setattr(DepthFirstTraverser, "traverse", traverse._engram_original)  # type: ignore[attr-defined]
    walks = _CallCount(monkeypatch, DepthFirstTraverser, "traverse")
    monkeypatch.setattr(Node, "find_clauses", Node.find_clauses._engram_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(cls, "validate", cls.validate._engram_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(cls, "__init__", cls.__init__._engram_original)  # type: ignore[misc]
    unpatched = run()
    assert patched == unpatched
    refused = [answer[1]["message"] for answer in patched[0] if isinstance(answer, tuple)]
    assert len(refused) == len(set(refused)) == 3  # an operand, a function, a path: each pass's own error
    assert patched[0][7]["Attributes"]["k"] == {"N": "2"} and patched[1][0]["n"] == {"N": "1"}
    assert 0 < walks_patched < walks.count - 25  # a pass for functions or SET actions, for instance


def test_action_names_are_spelled_as_moto_spells_them(dynamo: LocalDynamo) -> None:
    import moto.core.responses as responses
    from moto.core.responses import get_service_model

    spell = responses.camelcase_to_underscores
    assert getattr(spell, "_engram_cached", False)
    names = [*get_service_model("dynamodb").operation_names, "", "ABCTest", "getHTTPResponseCode", "X"]
    for name in names * 2:  # the second time from the cache
        assert spell(name) == spell.__wrapped__(name), name  # type: ignore[attr-defined]
    assert spell("BatchGetItem") == "batch_get_item" and spell("TransactWriteItems") == "transact_write_items"


def _guarded(
    n: int, condition: str = "attribute_exists(#p) AND #s = :open", update: str = "SET n = :n", **values: Any
) -> tuple[str, dict[str, Any]]:
    given = {":open": {"S": "open"}, ":n": {"N": str(n)}, **values}
    return _conditional(
        "UpdateItem",
        condition,
        {name: value for name, value in given.items() if value is not None},
        Key={"pk": {"S": "g"}},
        UpdateExpression=update,
        ReturnValues="ALL_NEW",
    )


# The same condition with values only the update uses changing from call to call, then ones the
# condition uses, a list the update uses, a value the condition lacks, a condition without values.
_GUARDED_REQUESTS = [
    ("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "g"}, "state": {"S": "open"}}}),
    *[_guarded(n) for n in range(4)],
    _guarded(9, **{":open": {"S": "shut"}}),  # the condition's own value: fails
    _guarded(5, update="SET n = :n, l = :l", **{":l": {"L": [{"S": "x"}]}}),  # a list only the update uses
    _guarded(6, **{":open": None}),  # the condition's value missing
    _guarded(7, "attribute_exists(#p) AND #s = :n"),  # another text: a number against a string
    _guarded(8, "attribute_exists(#p)", **{":open": None}),
    _guarded(9, "attribute_exists(#p)", **{":open": None}),
    _conditional("DeleteItem", "attribute_exists(#p)", None, Key={"pk": {"S": "g"}}, ReturnValues="ALL_OLD"),
]


def test_conditions_are_parsed_once_whatever_values_only_the_update_uses(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    patched, unpatched, parses_patched, parses = _conditions_patched_and_unpatched(
        dynamo, monkeypatch, _GUARDED_REQUESTS, ("g",)
    )
    assert patched == unpatched
    assert [answer["Attributes"]["n"] for answer in patched[0][1:5]] == [{"N": str(n)} for n in range(4)]
    refused = [answer[1]["__type"].rpartition("#")[2] for answer in patched[0] if isinstance(answer, tuple)]
    assert refused == ["ConditionalCheckFailedException", "InternalFailure", "ValidationException"]
    assert patched[0][-1]["Attributes"]["l"] == {"L": [{"S": "x"}]} and patched[1] == []
    # moto parses a condition twice per call (to check its values, then to apply it): 20 parses;
    # here the first text once per value it uses (twice) and once more failing, the others once
    assert parses == 20 and parses_patched == 5


def test_values_are_ordered_and_hashed_as_moto_orders_and_hashes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    from engram.local.dynamo import _compare_values_directly

    _compare_values_directly()
    originals = DynamoType.__lt__._engram_originals  # type: ignore[attr-defined]
    raws = [
        *_SIZED_VALUES,
        {"S": "a"},
        {"S": "B"},
        {"S": "a"},
        {"N": "1"},
        {"N": "1.0"},
        {"N": "-3e2"},
        {"N": "10"},
        {"B": "AAE="},
        {"B": b"\x00"},
        {"B": b"\x01"},
        {"NULL": True},
    ]
    values = [DynamoType(raw) for raw in raws]

    def outcomes() -> list[Any]:
        found: list[Any] = []
        for a in values:
            try:
                found.append(("cast", a.cast_value))
            except Exception as exc:
                found.append(("cast failed", type(exc)))
            try:
                found.append(("hash", hash(a)))
            except Exception as exc:
                found.append(("hash failed", type(exc)))
            for b in values:
                try:
                    found.append((a < b, a == b))
                except Exception as exc:
                    found.append(("failed", type(exc)))
        strings = [v for v in values if v.type == "S"]
        found.append([v.value for v in sorted(strings)])
        return found

    direct = outcomes()
    monkeypatch.setattr(DynamoType, "cast_value", originals["cast_value"])
    monkeypatch.setattr(DynamoType, "__lt__", originals["lt"])
    assert direct == outcomes()
    assert direct[-1][:2] == ["", "B"] and ("failed", TypeError) in direct  # a number against a string


def test_reads_measure_each_item_once_and_page_as_moto_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Queries and scans page at 1 MB by the items' sizes; an item that shrinks between reads is
    # measured anew by the next read. Pages, answers and a BatchGetItem stay moto's own.
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    local = LocalDynamo(tmp_path / "dynamodb", "us-east-1")
    local.start()
    try:
        local.call("CreateTable", table_request(TABLE, sort_key=True, stream=False))
        key = {"pk": {"S": "p"}}
        big = "x" * 300_000

        def reads() -> list[Any]:
            answers: list[Any] = []
            for n in range(5):
                local.call("PutItem", {"TableName": TABLE, "Item": {**key, "sk": {"N": str(n)}, "v": {"S": big}}})
            query = {
                "TableName": TABLE,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": key["pk"]},
            }
            for shrink in range(3):
                answers.append(local.call("Query", query))
                answers.append(local.call("Scan", {"TableName": TABLE, "Limit": 4}))
                answers.append(local.call("Query", {**query, "Limit": 2, "ProjectionExpression": "sk"}))
                keys = [{**key, "sk": {"N": str(n)}} for n in range(5)]
                batch = {"RequestItems": {TABLE: {"Keys": keys, "ProjectionExpression": "sk, v"}}}
                answers.append(local.call("BatchGetItem", batch))
                shrunk = {
                    "TableName": TABLE,
                    "Key": {**key, "sk": {"N": str(shrink)}},
                    "UpdateExpression": "SET v = :y",
                }
                local.call("UpdateItem", {**shrunk, "ExpressionAttributeValues": {":y": {"S": "y"}}})  # in place
            return [json.loads(json.dumps(answer, sort_keys=True).replace(big, "BIG")) for answer in answers]

        assert getattr(Item.size, "_engram_per_read", False)
        kept = reads()
        monkeypatch.setattr(Item, "size", Item.size._engram_original)  # type: ignore[attr-defined]
        for owner, name in ((Table, "query"), (Table, "scan"), (DynamoHandler, "batch_get_item")):
            monkeypatch.setattr(owner, name, getattr(owner, name)._engram_unmeasured)
        measured = reads()
        assert kept == measured
        pages = [len(answer["Items"]) for answer in kept[0::4]]
        assert pages == [3, 4, 5]  # 1 MB: three big items, then four, then all five as they shrink
        assert "LastEvaluatedKey" in kept[0] and "LastEvaluatedKey" not in kept[8]
    finally:
        local.stop(snapshot=False)


def test_item_results_are_written_as_json_unless_they_hold_a_none() -> None:
    # A result is written directly unless a None is among its values (or it is not JSON's):
    # what searching every result for a None first decided, now searched only where "null" is.
    import datetime
    import math

    from engram.local.dynamo import _binary_as_base64, _holds_none, _NotPlain, item_result_json

    def searched_first(result: Any) -> str | None:
        if _holds_none(result):
            return None
        try:
            return json.dumps(result, default=_binary_as_base64, allow_nan=False)
        except (_NotPlain, TypeError, ValueError):
            return None

    results: list[Any] = [
        {"Item": {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}, "flag": {"NULL": True}}},
        {"Item": {"pk": {"S": "null"}}, "ConsumedCapacity": {"CapacityUnits": 0.5}},  # the word in a string
        {"Items": [], "LastEvaluatedKey": None},
        {"Items": [{"a": {"L": [{"S": "x"}, None]}}]},
        {"Responses": {"t": [{"k": {"N": "1"}}]}, "UnprocessedKeys": {}},
        {"Tuple": ("x", None)},  # not searched inside, written as a list
        {None: {"S": "key"}},
        {"When": datetime.datetime(2026, 1, 1)},
        {"NaN": math.nan},
        {"Nested": [[[None]]]},
        {},
        None,
    ]
    got = [item_result_json(result) for result in results]
    assert got == [searched_first(result) for result in results]
    assert got[1] is not None and got[2] is None and got[5] == '{"Tuple": ["x", null]}' and got[-1] is None
