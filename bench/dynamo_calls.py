"""CPU per DynamoDB call against local mode's endpoint: botocore's full path beside the lean one.

    python -m bench.dynamo_calls [--pairs 3] [--rounds 200] [--out bench/results/dynamo_calls.json]

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


def serve() -> int:
    from engram.local.dynamo import LocalDynamo

    dynamo = LocalDynamo(Path(tempfile.mkdtemp(prefix="engram-dynamo-calls-")) / "dynamodb", "us-east-1")
    dynamo.start()
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


def _calls(client: Any, tag: str, i: int) -> list[Any]:
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
    return [
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


def run(pairs: int, rounds: int) -> dict[str, Any]:
    import boto3

    from engram.local import dynamo_client

    server = subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "bench.dynamo_calls", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdin is not None
    try:
        endpoint = f"http://127.0.0.1:{int(server.stdout.readline())}"
        clients = {}
        for mode in ("botocore", "lean"):
            client = boto3.client(
                "dynamodb",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            if mode == "lean":
                dynamo_client.attach(client)
            for i in range(20):  # warm: connections, shapes, moto's caches
                for call in _calls(client, mode, i):
                    call()
            clients[mode] = client
        samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in clients}
        i = 20
        for _ in range(pairs):
            for mode, client in clients.items():
                server_before, client_before = _cpu_seconds(server.pid), time.process_time()
                calls = 0
                for _ in range(rounds):
                    for call in _calls(client, mode, i):
                        call()
                        calls += 1
                    i += 1
                client_after, server_after = time.process_time(), _cpu_seconds(server.pid)
                samples[mode].append(
                    {
                        "client_ms_per_call": round(1000 * (client_after - client_before) / calls, 3),
                        "server_ms_per_call": round(1000 * (server_after - server_before) / calls, 3),
                    }
                )
    finally:
        server.stdin.close()
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
        "calls_per_run": rounds * 4,
        "runs": samples,
        "median": summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pairs", type=int, default=3, help="alternations of the two clients (default 3)")
    parser.add_argument("--rounds", type=int, default=200, help="rounds of four calls per run (default 200)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    result = run(args.pairs, args.rounds)
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
