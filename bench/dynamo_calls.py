"""CPU per DynamoDB call against local mode's endpoint: botocore's full path beside the lean one.

    python -m bench.dynamo_calls [--pairs 3] [--rounds 200] [--out bench/results/dynamo_calls.json]
    python -m bench.dynamo_calls --endpoints [--pairs 5] [--baseline moto|latest]

``--endpoints`` compares endpoints instead of clients: the lean client alternates between two
endpoint processes, today's and one where moto does unpatched what local mode's request-handling
patches do (its own request set-up and parsing, request-id substitution, UpdateExpression checks
and tree copies, condition parsing, size measurement, result conversion, item copies and stream
record JSON: :func:`unpatch`; with ``--baseline latest`` only the latest of them:
:func:`unpatch_latest`), and the calls of the load's mix join in (a conditional TransactWriteItems,
the authorizer's counter UpdateItem, a conditional UpdateItem, a BatchGetItem of 20 items with a
projection).

A ``LocalDynamo`` runs in a process of its own (as in ``make run``) with one table; this process
makes the same four calls a handler makes most (PutItem of a memory-sized item with a 1.5 KB
embedding, a consistent GetItem, an UpdateItem that adds to a counter, a Query of five items)
through two botocore clients, one of them on local mode's lean path
(:mod:`engram.local.dynamo_client`), alternating the two ``--pairs`` times. It prints the client's
CPU per call (this process) and the endpoint's (the server process, from ``/proc``) for each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TABLE = "bench"


# DynamoHandler methods local mode patches for request handling; ``--serve-before`` restores moto's.
BEFORE_PATCHES = ("parse_parameters", "_enrich_response")


def unpatch_latest() -> None:
    """Give moto back what the latest request-handling patches replaced (``--baseline latest``): the
    set-up of requests, the UpdateExpression tree copiers, the stream records' kept JSON, the
    direct ordering of values and the item sizes kept per read."""
    from moto.dynamodb.models import table as tables
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.responses import DynamoHandler

    DynamoHandler.setup_class = DynamoHandler.setup_class._engram_original  # type: ignore[attr-defined,method-assign]
    DynamoHandler.get_access_key = DynamoHandler.get_access_key._engram_original  # type: ignore[attr-defined,method-assign]
    validators.deepcopy = validators.deepcopy._engram_original  # type: ignore[attr-defined]
    tables.StreamRecord.__init__ = tables.StreamRecord.__init__._engram_original  # type: ignore[attr-defined,method-assign]
    tables.dynamo_json_dump = tables.dynamo_json_dump._engram_original  # type: ignore[attr-defined]
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.responses import DynamoHandler as Handler

    Item.size = Item.size._engram_original  # type: ignore[attr-defined,method-assign]
    for owner, name in ((tables.Table, "query"), (tables.Table, "scan"), (Handler, "batch_get_item")):
        setattr(owner, name, getattr(owner, name)._engram_unmeasured)
    compared = DynamoType.__lt__._engram_originals  # type: ignore[attr-defined]
    DynamoType.cast_value, DynamoType.__lt__ = compared["cast_value"], compared["lt"]  # type: ignore[method-assign]


def unpatch() -> None:
    """Give moto back what local mode's request-handling patches replaced (``--serve-before``)."""
    import moto.dynamodb.responses as responses

    unpatch_latest()
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models import utilities
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator
    from moto.dynamodb.responses import DynamoHandler

    for name in BEFORE_PATCHES:
        original = getattr(DynamoHandler, name)._engram_original
        setattr(DynamoHandler, name, staticmethod(original) if name == "_enrich_response" else original)
    UpdateExpressionValidator.validate = UpdateExpressionValidator.validate._engram_original  # type: ignore[attr-defined]
    UpdateExpressionValidator.__init__ = UpdateExpressionValidator.__init__._engram_original  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = ConditionExpressionParser.parse._engram_original  # type: ignore[attr-defined]
    responses.dynamo_to_dict = utilities.dynamo_to_dict = utilities.dynamo_to_dict._engram_original  # type: ignore[attr-defined]
    sizes = DynamoType.size._engram_originals  # type: ignore[attr-defined]
    DynamoType.size, Item.size = sizes["size"], sizes["item_size"]  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__, Item.__init__ = sizes["setitem"], sizes["item_init"]  # type: ignore[method-assign]
    copies = DynamoType.__deepcopy__._engram_originals  # type: ignore[attr-defined]
    DynamoType.__deepcopy__, Item.__deepcopy__ = copies["value"], copies["item"]  # type: ignore[method-assign]


def serve(before: str | None = None) -> int:
    from engram.local.dynamo import LocalDynamo

    dynamo = LocalDynamo(Path(tempfile.mkdtemp(prefix="engram-dynamo-calls-")) / "dynamodb", "us-east-1")
    dynamo.start()
    if before == "moto":
        unpatch()
    elif before == "latest":
        unpatch_latest()
    dynamo.call(
        "CreateTable",
        {
            "TableName": TABLE,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    print(dynamo.port, flush=True)
    sys.stdin.read()  # until the benchmark closes it
    dynamo.stop(snapshot=False)
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _calls(client: Any, tag: str, i: int, transaction: bool = False) -> list[Any]:
    key = {"pk": {"S": f"{tag}{i % 20}"}, "sk": {"S": f"{i:06d}"}}
    item = {
        **key,
        "text": {"S": "The user prefers Python type hints and pytest for every new service"},
        "title": {"S": "Python type hints"},
        "tier": {"S": "normal"},
        "access_count": {"N": "0"},
        "created_at": {"N": "1764633600.123"},
        "embedding": {"B": os.urandom(1536)},
        "entities": {"L": [{"S": "python"}, {"S": "pytest"}]},
        "metadata": {"S": '{"source": "bench"}'},
        "version": {"N": "1"},
    }
    calls = [
        lambda: client.put_item(TableName=TABLE, Item=item, ReturnConsumedCapacity="TOTAL"),
        lambda: client.get_item(TableName=TABLE, Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"),
        lambda: client.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="ADD access_count :one SET version = version + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnConsumedCapacity="TOTAL",
        ),
        lambda: client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key["pk"]},
            Limit=5,
            ReturnConsumedCapacity="TOTAL",
        ),
    ]
    if transaction:  # the load's mix
        counter = {"pk": key["pk"], "sk": {"S": "counter"}}
        message = {**key, "sk": {"S": f"m{i:06d}"}, "text": item["text"]}
        projected = [name for name in item if name != "embedding"]
        calls += [
            lambda: client.update_item(  # the authorizer's rate counter, twice a request
                TableName=TABLE,
                Key={"pk": {"S": f"rate{i % 3}"}, "sk": {"S": "minute"}},
                UpdateExpression="SET #0 = :0 ADD #1 :1",
                ExpressionAttributeNames={"#0": "expires_at", "#1": "hits"},
                ExpressionAttributeValues={":0": {"N": str(1764633600 + i)}, ":1": {"N": "1"}},
                ReturnValues="ALL_NEW",
            ),
            lambda: client.update_item(  # a guarded change of a stored item
                TableName=TABLE,
                Key=key,
                ConditionExpression="(attribute_exists (#0) AND #1 = :0)",
                UpdateExpression="SET #1 = :0, #2 = :1, #3 = :2",
                ExpressionAttributeNames={"#0": "pk", "#1": "tier", "#2": "title", "#3": "created_at"},
                ExpressionAttributeValues={":0": {"S": "normal"}, ":1": {"S": "Type hints"}, ":2": {"N": str(i)}},
            ),
            lambda: client.batch_get_item(  # a search's candidates, projected
                RequestItems={
                    TABLE: {
                        "Keys": [{"pk": key["pk"], "sk": {"S": f"{j:06d}"}} for j in range(i % 20, i, 20)][-20:]
                        or [key],
                        "ProjectionExpression": ", ".join(f"#{n}" for n in range(len(projected))),
                        "ExpressionAttributeNames": {f"#{n}": name for n, name in enumerate(projected)},
                    }
                }
            ),
        ]
        calls.append(
            lambda: client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": message, "ConditionExpression": "attribute_not_exists(pk)"}},
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": counter,
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        )
    return calls


def run(
    pairs: int, rounds: int, endpoints: bool = False, baseline: str = "moto", before_tree: Path | None = None
) -> dict[str, Any]:
    import boto3

    from engram.local import dynamo_client

    # client mode: botocore and lean clients on one endpoint; endpoints: the lean client on two
    before = ["--serve-before"] if baseline == "moto" else ["--serve-before", "--baseline", baseline]
    modes = {"endpoint before": " ".join(before), "endpoint now": "--serve"} if endpoints else {}
    if endpoints and before_tree is not None:  # the 'before' endpoint: another checkout's code as it is
        modes["endpoint before"] = "--serve (before tree)"
    servers = {
        flag: subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "bench.dynamo_calls", *flag.split()[: 1 if "(" in flag else None]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            **_tree_options(before_tree if "(" in flag else None),
        )
        for flag in (modes.values() if endpoints else ["--serve"])
    }
    try:
        ports = {flag: int(server.stdout.readline()) for flag, server in servers.items()}  # type: ignore[union-attr]
        clients, pids = {}, {}
        for mode in modes or ("botocore", "lean"):
            flag = modes.get(mode, "--serve")
            client = boto3.client(
                "dynamodb",
                endpoint_url=f"http://127.0.0.1:{ports[flag]}",
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            if mode != "botocore":
                dynamo_client.attach(client)
            for i in range(20):  # warm: connections, shapes, moto's caches
                for call in _calls(client, "warm", i, endpoints):
                    call()
            clients[mode], pids[mode] = client, servers[flag].pid
        samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in clients}
        i = 20
        for _ in range(pairs):
            for mode, client in clients.items():
                pid = pids[mode]
                server_before, client_before = _cpu_seconds(pid), time.process_time()
                calls = 0
                start = i
                for _ in range(rounds):
                    # endpoints: each endpoint is given the same keys in turn (its own table)
                    for call in _calls(client, "k" if endpoints else mode, i, endpoints):
                        call()
                        calls += 1
                    i += 1
                if endpoints and mode == "endpoint before":
                    i = start
                client_after, server_after = time.process_time(), _cpu_seconds(pid)
                samples[mode].append(
                    {
                        "client_ms_per_call": round(1000 * (client_after - client_before) / calls, 3),
                        "server_ms_per_call": round(1000 * (server_after - server_before) / calls, 3),
                    }
                )
    finally:
        for server in servers.values():
            server.stdin.close()  # type: ignore[union-attr]
        for server in servers.values():
            server.wait(timeout=60)
    summary = {
        mode: {
            name: round(statistics.median(sample[name] for sample in runs), 3)
            for name in ("client_ms_per_call", "server_ms_per_call")
        }
        for mode, runs in samples.items()
    }
    return {
        "benchmark": "dynamo_calls",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pairs": pairs,
        "calls_per_run": rounds * (8 if endpoints else 4),
        "runs": samples,
        "median": summary,
    }


def _tree_options(tree: Path | None) -> dict[str, Any]:
    """Popen options that run the module from another checkout (its engram package and its bench)."""
    if tree is None:
        return {}
    root = tree.resolve()
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "shared"), str(root)])}
    return {"cwd": root, "env": environ}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-before", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline",
        choices=("moto", "latest"),
        default="moto",
        help="--endpoints: the 'before' endpoint undoes every request-handling patch (moto, default) "
        "or only the latest ones (the set-up of requests, the tree copiers, the stream records' JSON, "
        "the ordering of values, sizes kept per read)",
    )
    parser.add_argument(
        "--before-tree",
        type=Path,
        default=None,
        help="--endpoints: the 'before' endpoint runs this checkout's code instead (e.g. a git worktree of main)",
    )
    parser.add_argument("--endpoints", action="store_true", help="compare endpoints, not clients (see above)")
    parser.add_argument("--pairs", type=int, default=3, help="alternations of the two clients (default 3)")
    parser.add_argument("--rounds", type=int, default=200, help="rounds of four calls per run (default 200)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.serve or args.serve_before:
        return serve(before=args.baseline if args.serve_before else None)
    result = run(args.pairs, args.rounds, args.endpoints, args.baseline, args.before_tree)
    print("| client | pair | client CPU ms/call | endpoint CPU ms/call |")
    print("|---|---:|---:|---:|")
    for pair in range(args.pairs):
        for mode, runs in result["runs"].items():
            row = runs[pair]
            print(f"| {mode} | {pair + 1} | {row['client_ms_per_call']:.2f} | {row['server_ms_per_call']:.2f} |")
    for mode, median in result["median"].items():
        client_ms, server_ms = median["client_ms_per_call"], median["server_ms_per_call"]
        print(f"| **{mode}, median** | | **{client_ms:.2f}** | **{server_ms:.2f}** |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
