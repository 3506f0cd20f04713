"""The lean DynamoDB client of local mode's handler processes answers exactly as botocore does:
the same parsed results, the same exception classes with the same fields, through PynamoDB too."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engram.local import dynamo_client
from engram.local.dynamo import LocalDynamo
from tests.local.helpers import table_request

TABLE = "lean"
EVERY_TYPE = {
    "pk": {"S": "every"},
    "sk": {"N": "1"},
    "text": {"S": 'JSON in a string: {"turn": null, "ok": true}'},
    "n": {"N": "12.5"},
    "blob": {"B": bytes(range(256))},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x00\x01", b"\xff"]},
    "map": {"M": {"B": {"L": [{"S": "x"}, {"B": b"\x07"}, {"NULL": True}, {"BOOL": False}]}}},
}


@pytest.fixture(scope="module")
def dynamo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDynamo]:
    local = LocalDynamo(Path(tmp_path_factory.mktemp("lean")) / "dynamodb", "us-east-1")
    local.start()
    local.call("CreateTable", table_request(TABLE, sort_key=True, stream=False))
    try:
        yield local
    finally:
        local.stop(snapshot=False)


def _client(dynamo: LocalDynamo, lean: bool) -> Any:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamo.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    if lean:
        dynamo_client.attach(client)
    return client


def _outcome(call: Any) -> Any:
    """A call's parsed answer or its exception (class, code, message and every parsed field),
    without what differs between two requests (request id, date, retries)."""
    try:
        answer = call()
    except Exception as exc:  # the exception is the outcome compared
        response = copy.deepcopy(getattr(exc, "response", {}))
        response.pop("ResponseMetadata", None)
        return ("raised", type(exc).__name__, response)
    answer = copy.deepcopy(answer)
    metadata = answer.pop("ResponseMetadata")
    return ("answered", metadata["HTTPStatusCode"], metadata["RetryAttempts"], answer)


def _without_scanned_count(answer: dict[str, Any]) -> dict[str, Any]:
    answer.pop("ScannedCount")  # the whole table's: the other client's items too
    return answer


def _script(client: Any, tag: str) -> list[Any]:
    key = {"pk": {"S": tag}, "sk": {"N": "1"}}
    item = {**EVERY_TYPE, "pk": {"S": tag}}
    steps = [
        lambda: client.put_item(TableName=TABLE, Item=item, ReturnConsumedCapacity="TOTAL"),
        lambda: client.get_item(TableName=TABLE, Key=key, ConsistentRead=True),
        lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": tag}, "sk": {"N": "404"}}),
        lambda: client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": tag}},
            Limit=1,
        ),
        lambda: client.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="ADD n :one SET #b = :b",
            ExpressionAttributeNames={"#b": "blob"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":b": {"B": b"\x00new"}},
            ReturnValues="ALL_NEW",
        ),
        lambda: client.batch_get_item(
            RequestItems={
                TABLE: {"Keys": [key], "ProjectionExpression": "#b, blobs", "ExpressionAttributeNames": {"#b": "blob"}}
            }
        ),
        # a lost condition, with the item it was checked against
        lambda: client.put_item(
            TableName=TABLE,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        # a cancelled transaction, with its reasons and the item that failed
        lambda: client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": tag}, "sk": {"N": "2"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": key,
                        "ConditionExpression": "n = :zero",
                        "ExpressionAttributeValues": {":zero": {"N": "0"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        ),
        lambda: client.transact_write_items(
            TransactItems=[{"Put": {"TableName": TABLE, "Item": {"pk": {"S": tag}, "sk": {"N": "3"}}}}]
        ),
        lambda: client.get_item(TableName="absent", Key=key),  # ResourceNotFoundException
        lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": tag}}),  # ValidationException
        lambda: client.delete_item(TableName=TABLE, Key=key, ReturnValues="ALL_OLD"),
        lambda: _without_scanned_count(
            client.scan(
                TableName=TABLE,
                FilterExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": tag}},
                Select="COUNT",
            )
        ),
    ]
    return [_outcome(step) for step in steps]


def test_the_lean_client_answers_as_botocore_does(dynamo: LocalDynamo) -> None:
    plain, lean = _client(dynamo, lean=False), _client(dynamo, lean=True)
    expected = _script(plain, "by-botocore")
    got = _script(lean, "by-lean")

    def untagged(outcomes: list[Any], tag: str) -> str:
        return repr(outcomes).replace(f"'{tag}'", "'tag'")

    assert untagged(got, "by-lean") == untagged(expected, "by-botocore")
    kinds = [outcome[1] if outcome[0] == "raised" else outcome[0] for outcome in got]
    assert kinds == ["answered"] * 6 + [
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "answered",
        "ResourceNotFoundException",
        "ClientError",
        "answered",
        "answered",
    ]
    assert got[6][2]["Item"]["blob"] == {"B": b"\x00new"}  # modelled error fields, parsed
    assert isinstance(lean._make_api_call, dynamo_client.LeanCall)


def test_a_connection_the_server_closed_is_opened_again(dynamo: LocalDynamo) -> None:
    lean = _client(dynamo, lean=True)
    assert lean.list_tables()["TableNames"] == [TABLE]
    dynamo._server.close_connections()  # type: ignore[union-attr] # what a stop does to idle ones
    assert lean.list_tables()["TableNames"] == [TABLE]


def test_an_answer_botocore_would_retry_goes_back_to_botocore(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.client import BaseClient

    lean = _client(dynamo, lean=True)
    calls: list[str] = []
    original = BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append(operation_name)
        return original(self, operation_name, api_params)

    failures = iter([True])

    def call_moto(environ: dict[str, Any], target: str) -> Any:
        if next(failures, False):
            return "500 Internal Server Error", [], b'{"__type": "InternalFailure", "message": "boom"}'
        return real(environ, target)

    real = dynamo._call_moto
    monkeypatch.setattr(dynamo, "_call_moto", call_moto)
    lean._make_api_call._original = recording  # the full botocore call, recorded
    assert lean.list_tables()["TableNames"] == [TABLE]
    assert calls == ["ListTables"]  # the 500 was handed to botocore, which asked again


def test_install_routes_only_the_local_endpoints_dynamodb_clients(
    dynamo: LocalDynamo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from botocore.client import BaseClient

    monkeypatch.setattr(BaseClient, "_make_api_call", BaseClient._make_api_call)
    monkeypatch.setattr(dynamo_client, "_installed", {})
    monkeypatch.delenv(dynamo_client.SWITCH_VARIABLE, raising=False)
    assert dynamo_client.install(dynamo.endpoint + "/")
    local = _client(dynamo, lean=False)
    elsewhere = boto3.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    sqs = boto3.client(
        "sqs", endpoint_url=dynamo.endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert local.list_tables()["TableNames"] == [TABLE]
    assert isinstance(local.__dict__["_engram_lean_call"], dynamo_client.LeanCall)
    for other in (elsewhere, sqs):
        assert dynamo_client._lean_call_for(other, None) is False


def test_install_is_switched_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.client import BaseClient

    before = BaseClient._make_api_call
    monkeypatch.setattr(dynamo_client, "_installed", {})
    monkeypatch.setenv(dynamo_client.SWITCH_VARIABLE, "botocore")
    assert dynamo_client.install("http://127.0.0.1:1") is False
    assert BaseClient._make_api_call is before


def _random_json(shape: Any, rng: Any, depth: int = 0) -> Any:
    """A random wire value of ``shape``: members present or absent or null, unknown keys, nesting."""
    import base64

    kind = shape.type_name
    if kind == "structure":
        names = list(shape.members)
        if depth > 3:  # deep enough: scalar members only
            names = [n for n in names if shape.members[n].type_name not in ("structure", "list", "map")]
        chosen = rng.sample(names, k=min(len(names), rng.choice([0, 1, 1, 1, 2, 3])))
        value = {
            shape.members[n].serialization.get("name", n): _random_json(shape.members[n], rng, depth + 1)
            for n in chosen
        }
        if rng.random() < 0.2:
            value["NotInTheModel"] = "ignored"
        if names and rng.random() < 0.2:
            value[rng.choice(names)] = None
        return value
    if kind == "list":
        return [
            None if rng.random() < 0.1 else _random_json(shape.member, rng, depth + 1) for _ in range(rng.randint(0, 3))
        ]
    if kind == "map":
        return {f"k{i}": _random_json(shape.value, rng, depth + 1) for i in range(rng.randint(0, 3))}
    if kind == "blob":
        return base64.b64encode(rng.randbytes(rng.randint(0, 8))).decode()
    if kind == "timestamp":
        return rng.choice([1700000000, 1700000000.25])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "long"):
        return rng.randint(-5, 5)
    if kind in ("double", "float"):
        return rng.random()
    return rng.choice(["", "a", "ü#", "{}"])


def test_the_compiled_parser_parses_every_dynamodb_answer_as_botocore_does() -> None:
    import json
    import random

    import botocore.session
    from botocore.parsers import ResponseParserFactory

    model = botocore.session.get_session().get_service_model("dynamodb")
    shapes = [model.operation_model(name).output_shape for name in model.operation_names]
    shapes += list(model.error_shapes)  # modelled error fields (a cancelled transaction's reasons)
    reference = ResponseParserFactory().create_parser("json")
    fast = dynamo_client.compiled_parser(ResponseParserFactory().create_parser("json"))
    assert fast is not reference and isinstance(fast, type(reference))
    rng = random.Random(14)
    compared = 0
    for shape in shapes:
        if shape is None:
            continue
        for _ in range(20):
            body = json.dumps(_random_json(shape, rng)).encode()
            response = {"status_code": 200, "headers": {"x-amzn-requestid": "r"}, "body": body, "context": {}}
            expected, got = reference.parse(dict(response), shape), fast.parse(dict(response), shape)
            assert repr(got) == repr(expected), shape.name  # equal, in the same key order
            compared += 1
    assert compared > 1000


def test_install_refuses_an_unknown_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dynamo_client.SWITCH_VARIABLE, "fast")
    with pytest.raises(ValueError, match="ENGRAM_LOCAL_DYNAMO_CLIENT=fast: must be lean or botocore"):
        dynamo_client.install("http://127.0.0.1:1")
