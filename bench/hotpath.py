"""Storage calls and DynamoDB capacity per route, counted through the real local runtime.

    python -m bench.hotpath [--baseline REF] [--out bench/results/hotpath.json]

``count_storage_calls`` runs a short scripted sequence (memories, then sessions that start, turn,
append, search, reinforce and end) through an in-process ``LocalRuntime`` and counts every botocore
DynamoDB call, attributed to the Lambda function whose invocation made it (the route's handler,
the authorizer, the stream consumers). A second pass of the same sequence prices each call in
DynamoDB's capacity units, from the sizes of the items it touched and the kind of operation
(on-demand tables; see :func:`item_size` and :class:`Capacity`), with 1024-dimension embeddings as
the template deploys them.

``--baseline REF`` counts the same sequence with the code of another commit (a temporary git
worktree, its ``engram`` package first on ``PYTHONPATH``, this measuring code), so before and
after come from one run. ``make bench-load`` prints them before its load run.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "egm_bench_load_0123456789abcdefghijklmnopqrstuv"
ROUTES = [
    "POST /v1/sessions/start",
    "POST /v1/sessions/{id}/turn",
    "POST /v1/sessions/{id}/messages",
    "POST /v1/memories",
    "POST /v1/memories/search",
    "POST /v1/memories/{id}/reinforce",
    "POST /v1/sessions/{id}/end",
]
STREAM_FUNCTIONS = ("OnMemoryChangeFunction", "OnSessionChangeFunction")
TOPICS = [
    "The user prefers Python type hints and pytest for every new service",
    "Deployments go out on Tuesdays through the blue green pipeline",
    "The user drinks oat milk flat whites every morning before standup",
    "Invoices are generated on the first business day of each month",
    "The on-call rotation changes every Monday at nine in the morning",
    "The user is travelling to Lisbon for a conference in late June",
]
READ_UNIT = 4096  # bytes per read capacity unit (strongly consistent; eventually consistent: half)
WRITE_UNIT = 1024  # bytes per write capacity unit (transactional writes: two)


# --------------------------------------------------------------------------------------------
# DynamoDB item sizes and capacity units


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: each attribute's name (UTF-8 bytes) plus its value."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(str(v).encode())
    if kind == "N":
        return _number_size(str(v))
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in v)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + _value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(e) for k, e in v.items())
    return 0


def _number_size(text: str) -> int:
    """Numbers: about one byte per two significant digits, plus one."""
    digits = re.sub(r"[^0-9]", "", text.split("e")[0].split("E")[0]).strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


class Capacity:
    """Prices each DynamoDB call in read and write capacity units (on-demand request units).

    - Reads: ``ceil(size / 4 KB)`` per item for GetItem and BatchGetItem, once over the summed
      size of every item a Query evaluates (before its filter; re-read without the filter to
      size them); strongly consistent reads cost that, eventually consistent ones half.
    - Writes: ``ceil(size / 1 KB)`` of the larger of the item before and after, for the table and
      again for each global secondary index the item is in before or after (every index here
      projects ALL attributes, so any change rewrites the index entry); a transaction's items
      cost twice that for the table itself.
    The items' sizes are read around each write with uncounted calls (this pass is not timed).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.indexes: dict[str, list[list[str]]] = {}
        self.keys: dict[str, list[str]] = {}

    def _describe(self, table: str) -> None:
        if table in self.keys:
            return
        desc = self.client.describe_table(TableName=table)["Table"]
        self.keys[table] = [k["AttributeName"] for k in desc["KeySchema"]]
        self.indexes[table] = [
            [k["AttributeName"] for k in g["KeySchema"]] for g in desc.get("GlobalSecondaryIndexes", [])
        ]

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {})

    def _key(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        self._describe(table)
        return {k: item[k] for k in self.keys[table]}

    def _write_units(self, table: str, before: dict[str, Any], after: dict[str, Any], factor: int) -> float:
        self._describe(table)
        size = max(item_size(before), item_size(after))
        units = math.ceil(size / WRITE_UNIT) or 1
        total = float(factor * units)
        for keys in self.indexes[table]:
            if all(k in before for k in keys) or all(k in after for k in keys):
                total += units
        return total

    def before(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """What each item a write touches looks like before it (table, key, item)."""
        touched: list[tuple[str, dict[str, Any]]] = []
        if operation in ("PutItem",):
            touched.append((params["TableName"], self._key(params["TableName"], params["Item"])))
        elif operation in ("UpdateItem", "DeleteItem"):
            touched.append((params["TableName"], params["Key"]))
        elif operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((_kind, body),) = action.items()
                key = body.get("Key") or self._key(body["TableName"], body["Item"])
                touched.append((body["TableName"], key))
        elif operation == "BatchWriteItem":
            for table, requests_ in params["RequestItems"].items():
                for r in requests_:
                    body = r.get("PutRequest") or r.get("DeleteRequest")
                    key = body.get("Key") or self._key(table, body["Item"])
                    touched.append((table, key))
        return [(table, key, self._get(table, key)) for table, key in touched]

    def price(
        self, operation: str, params: dict[str, Any], response: dict[str, Any], before: list[Any]
    ) -> tuple[float, float]:
        """(read units, write units) of one call."""
        if operation == "GetItem":
            item = self._whole(params["TableName"], response.get("Item") or {}, params)
            return self._read([item], params.get("ConsistentRead", False)), 0.0
        if operation == "BatchGetItem":
            rcu = 0.0
            for table, items in (response.get("Responses") or {}).items():
                asked = params["RequestItems"].get(table, {})
                consistent = asked.get("ConsistentRead", False)
                rcu += sum(self._read([self._whole(table, i, asked)], consistent) for i in items)
            return rcu, 0.0
        if operation == "Query":
            evaluated = self._evaluated(params)
            units = math.ceil(sum(item_size(i) for i in evaluated) / READ_UNIT) or 1
            return units * (1.0 if params.get("ConsistentRead") else 0.5), 0.0
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
            factor = 2 if operation == "TransactWriteItems" else 1
            wcu = 0.0
            for table, key, old in before:
                new = self._get(table, key)
                wcu += self._write_units(table, old, new, factor)
            return 0.0, wcu
        return 0.0, 0.0

    def _whole(self, table: str, item: dict[str, Any], asked: dict[str, Any]) -> dict[str, Any]:
        """The item as billed: a read is billed for the whole item, whatever its projection returned."""
        if not item or not asked.get("ProjectionExpression"):
            return item
        return self._get(table, self._key(table, item)) or item

    @staticmethod
    def _read(items: list[dict[str, Any]], consistent: bool) -> float:
        units = sum(math.ceil(item_size(i) / READ_UNIT) or 1 for i in items) or 1
        return units * (1.0 if consistent else 0.5)

    def _evaluated(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The items a Query reads before its filter (what it is billed for), re-read unfiltered."""
        query = {
            k: v
            for k, v in params.items()
            if k
            in (
                "TableName",
                "IndexName",
                "KeyConditionExpression",
                "ExclusiveStartKey",
                "Limit",
                "ScanIndexForward",
                "ConsistentRead",
            )
        }
        names = params.get("ExpressionAttributeNames") or {}
        values = params.get("ExpressionAttributeValues") or {}
        condition = str(query.get("KeyConditionExpression", ""))
        placeholders = set(re.findall(r"[#:]\w+", condition))
        used_names = {n: v for n, v in names.items() if n in placeholders}
        used_values = {n: v for n, v in values.items() if n in placeholders}
        if used_names:
            query["ExpressionAttributeNames"] = used_names
        if used_values:
            query["ExpressionAttributeValues"] = used_values
        return list(self.client.query(**query).get("Items") or [])


# --------------------------------------------------------------------------------------------
# The scripted sequence through the local runtime


def count_storage_calls(rounds: int = 6, root: Path = ROOT, capacity: bool = True) -> dict[str, Any]:
    """Storage calls (and, with ``capacity``, capacity units) per request of each route, per
    invocation of each stream function; ``root`` is the tree whose template.yaml is served."""
    import boto3
    import botocore.client

    from engram.local import lambdas
    from engram.local.runtime import LocalRuntime

    tls = threading.local()
    lock = threading.Lock()  # handlers and stream pumps run on their own threads
    calls: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    units: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    invocations: collections.Counter[str] = collections.Counter()
    pricing: dict[str, Any] = {"on": None}
    original_call = botocore.client.BaseClient._make_api_call
    original_invoke = lambdas.LambdaFunction.invoke

    def counting_call(self: Any, operation: str, params: Any) -> Any:
        if getattr(tls, "uncounted", False) or self.meta.service_model.service_name != "dynamodb":
            return original_call(self, operation, params)
        function = getattr(tls, "function", None) or "(runtime)"
        with lock:
            calls[function][operation] += 1
        priced: Capacity | None = pricing["on"]
        if priced is None:
            return original_call(self, operation, params)
        tls.uncounted = True
        try:
            before = priced.before(operation, params)
        finally:
            tls.uncounted = False
        response = original_call(self, operation, params)
        tls.uncounted = True
        try:
            rcu, wcu = priced.price(operation, params, response, before)
        finally:
            tls.uncounted = False
        with lock:
            units[function][0] += rcu
            units[function][1] += wcu
        return response

    def tagged_invoke(self: Any, event: Any) -> Any:
        previous = getattr(tls, "function", None)
        tls.function = self.spec.logical_id
        with lock:
            invocations[self.spec.logical_id] += 1
        try:
            return original_invoke(self, event)
        finally:
            tls.function = previous

    tmp = Path(tempfile.mkdtemp(prefix="engram-calls-"))
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ENGRAM_", "AWS_ENDPOINT_URL"))},
        "ENGRAM_API_KEY": API_KEY,
        "ENGRAM_EMBEDDER": "hashing",
        "ENGRAM_EMBEDDING_DIMENSIONS": "1024",  # item sizes as the template deploys (Titan v2, 1024)
        "ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000",
        "ENGRAM_LOCAL_SCHEDULE_SECONDS": "3600",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    botocore.client.BaseClient._make_api_call = counting_call  # type: ignore[method-assign]
    lambdas.LambdaFunction.invoke = tagged_invoke  # type: ignore[method-assign]
    runtime = LocalRuntime(root / "template.yaml", tmp / "data", port=0, environ=environ)
    try:
        runtime.start()
        assert runtime.template is not None and runtime.pump is not None
        pump = runtime.pump
        function_of = {f"{r.method} {r.path}": r.function_id for r in runtime.template.routes}
        http = requests.Session()
        http.headers.update({"Authorization": f"Bearer {API_KEY}"})
        url = runtime.url
        rng = random.Random(7)
        sequential: dict[str, list[float]] = collections.defaultdict(list)

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            started = time.perf_counter()
            response = http.post(url + path, json=body, timeout=60)
            sequential["POST " + re.sub(r"/(sess|mem)_[0-9A-Za-z]+", "/{id}", path)].append(
                (time.perf_counter() - started) * 1000
            )
            response.raise_for_status()
            out: dict[str, Any] = response.json()
            return out

        def script(tag: str, n: int) -> None:
            memory_ids = [
                post("/v1/memories", {"text": f"[{tag}{i}] {rng.choice(TOPICS)}", "type": "fact"})["id"]
                for i in range(n)
            ]
            for i in range(n):
                session = post("/v1/sessions/start", {"firstMessage": f"{tag}{i} {rng.choice(TOPICS)}"})["session_id"]
                used = memory_ids[i : i + 2]
                post(
                    f"/v1/sessions/{session}/turn",
                    {"turnNumber": 1, "messages": [{"role": "user", "content": f"u{i}"}], "memoriesUsed": used},
                )
                post(f"/v1/sessions/{session}/messages", {"messages": [{"role": "user", "content": f"m{i}"}]})
                post("/v1/memories/search", {"query": rng.choice(TOPICS), "topK": 5, "threshold": 0.2})
                post(f"/v1/memories/{memory_ids[i]}/reinforce", {"value": 1})
                post(f"/v1/sessions/{session}/end", {"outcome": "success", "extract_memories": False})
            pump.drain(10)

        def per_route() -> dict[str, Any]:
            out: dict[str, Any] = {}
            auth_n = max(1, invocations["AuthorizerFunction"])
            for route in ROUTES:
                fid = function_of.get(route)
                if fid is None or not invocations[fid]:
                    continue
                n = invocations[fid]
                out[route] = {
                    "function": fid,
                    "invocations": n,
                    "handler_calls": round(sum(calls[fid].values()) / n, 2),
                    "authorizer_calls": round(sum(calls["AuthorizerFunction"].values()) / auth_n, 2),
                    "by_operation": {op: round(c / n, 2) for op, c in sorted(calls[fid].items())},
                    "rcu": round(units[fid][0] / n, 2),
                    "wcu": round(units[fid][1] / n, 2),
                    "authorizer_rcu": round(units["AuthorizerFunction"][0] / auth_n, 2),
                    "authorizer_wcu": round(units["AuthorizerFunction"][1] / auth_n, 2),
                    "one_client_p50_ms": round(_pct(sequential[route], 50), 2) if sequential[route] else None,
                }
            return out

        def background() -> dict[str, Any]:
            return {
                fid: {
                    "invocations": invocations[fid],
                    "calls": sum(calls[fid].values()),
                    "calls_per_invocation": round(sum(calls[fid].values()) / max(1, invocations[fid]), 2),
                    "by_operation": dict(calls[fid]),
                    "rcu": round(units[fid][0], 2),
                    "wcu": round(units[fid][1], 2),
                }
                for fid in STREAM_FUNCTIONS
                if invocations[fid]
            }

        def clear() -> None:
            calls.clear()
            units.clear()
            invocations.clear()
            sequential.clear()

        script("warm", 2)  # every handler imported and connected once: imports are not counted
        clear()
        script("c", rounds)
        result: dict[str, Any] = {"rounds": rounds, "routes": per_route(), "stream_functions": background()}
        result["authorizer"] = {
            op: round(n / max(1, invocations["AuthorizerFunction"]), 2) for op, n in calls["AuthorizerFunction"].items()
        }
        if capacity:
            clear()
            tls.uncounted = True
            try:
                pricing["on"] = Capacity(boto3.client("dynamodb", region_name=environ.get("AWS_REGION", "us-east-1")))
            finally:
                tls.uncounted = False
            script("p", rounds)
            priced_routes = per_route()
            for route, row in result["routes"].items():
                priced = priced_routes.get(route, {})
                for name in ("rcu", "wcu", "authorizer_rcu", "authorizer_wcu"):
                    row[name] = priced.get(name)
            priced_background = background()
            for fid, row in result["stream_functions"].items():
                row["rcu"] = priced_background.get(fid, {}).get("rcu")
                row["wcu"] = priced_background.get(fid, {}).get("wcu")
                row["priced_invocations"] = priced_background.get(fid, {}).get("invocations")
            result["capacity_rounds"] = rounds
        return result
    finally:
        pricing["on"] = None
        runtime.stop(snapshot=False)
        botocore.client.BaseClient._make_api_call = original_call  # type: ignore[method-assign]
        lambdas.LambdaFunction.invoke = original_invoke  # type: ignore[method-assign]
        shutil.rmtree(tmp, ignore_errors=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# --------------------------------------------------------------------------------------------
# The same, with another commit's code


@contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """A temporary detached git worktree of ``ref`` (removed afterwards)."""
    tmp = Path(tempfile.mkdtemp(prefix="engram-baseline-"))
    tree = tmp / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), ref], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def baseline_env(tree: Path) -> dict[str, str]:
    """The environment that runs ``tree``'s engram package (before this checkout's editable install)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "shared"), str(ROOT)])}


def count_in(tree: Path, rounds: int = 6) -> dict[str, Any]:
    """:func:`count_storage_calls` with ``tree``'s code and template (in a subprocess)."""
    code = (
        "import json, sys; from pathlib import Path; from bench.hotpath import count_storage_calls; "
        "print('RESULT ' + json.dumps(count_storage_calls(int(sys.argv[1]), Path(sys.argv[2]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(rounds), str(tree)],
        cwd=tree,
        env=baseline_env(tree),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"counting in {tree} failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def commit_of(ref: str, root: Path = ROOT) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", ref], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or ref


# --------------------------------------------------------------------------------------------
# Output


def _total(row: dict[str, Any] | None, key: str) -> float | None:
    if not row:
        return None
    if key == "calls":
        return float(row["handler_calls"] + row["authorizer_calls"])
    if row.get(key) is None:
        return None
    return float(row[key] + (row.get(f"authorizer_{key}") or 0.0))


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run_totals(result: dict[str, Any]) -> dict[str, float]:
    """The whole scripted run's DynamoDB calls, RCU and WCU: on the request path (every route's
    requests, authorizer included) and in the stream consumers."""
    totals = {"request_calls": 0.0, "request_rcu": 0.0, "request_wcu": 0.0}
    for row in result.get("routes", {}).values():
        n = row["invocations"]
        for key in ("calls", "rcu", "wcu"):
            totals[f"request_{key}"] += n * (_total(row, key) or 0.0)
    streams = result.get("stream_functions", {}).values()
    totals["stream_calls"] = float(sum(row["calls"] for row in streams))
    totals["stream_rcu"] = float(sum(row.get("rcu") or 0.0 for row in streams))
    totals["stream_wcu"] = float(sum(row.get("wcu") or 0.0 for row in streams))
    for key in ("calls", "rcu", "wcu"):
        totals[f"all_{key}"] = totals[f"request_{key}"] + totals[f"stream_{key}"]
    return totals


def markdown(after: dict[str, Any], before: dict[str, Any] | None = None, before_label: str = "before") -> str:
    """Calls, read and write units per request (handler + authorizer), before → after."""
    arrow = (lambda b, a, d=1: f"{_f(b, d)} → **{_f(a, d)}**") if before else (lambda b, a, d=1: f"**{_f(a, d)}**")
    lines = [
        "Storage per request (route handler + authorizer; in-process calibration, "
        f"{after.get('rounds', '?')} scripted sessions{f', before = {before_label}' if before else ''}):",
        "",
        "| route | DynamoDB calls | by operation (after) | RCU | WCU |",
        "|---|---:|---|---:|---:|",
    ]
    for route in ROUTES:
        a = after["routes"].get(route)
        if not a:
            continue
        b = (before or {}).get("routes", {}).get(route)
        ops = ", ".join(f"{op} {n:g}" for op, n in a["by_operation"].items())
        auth = ", ".join(f"{op} {n:g}" for op, n in (after.get("authorizer") or {}).items())
        lines.append(
            f"| `{route}` | {arrow(_total(b, 'calls'), _total(a, 'calls'))} | {ops}; authorizer {auth} | "
            f"{arrow(_total(b, 'rcu'), _total(a, 'rcu'))} | {arrow(_total(b, 'wcu'), _total(a, 'wcu'))} |"
        )
    lines += ["", "Stream consumers (background, not on the request path), per scripted run:", ""]
    lines += ["| function | invocations | DynamoDB calls | RCU | WCU |", "|---|---:|---:|---:|---:|"]
    for fid in STREAM_FUNCTIONS:
        a = after.get("stream_functions", {}).get(fid)
        b = (before or {}).get("stream_functions", {}).get(fid)
        if not a and not b:
            continue
        lines.append(
            f"| {fid} | {arrow(b and b['invocations'], a and a['invocations'], 0)} | "
            f"{arrow(b and b['calls'], a and a['calls'], 0)} | "
            f"{arrow(b and b.get('rcu'), a and a.get('rcu'))} | {arrow(b and b.get('wcu'), a and a.get('wcu'))} |"
        )
    a, b = run_totals(after), run_totals(before) if before else None
    lines += ["", "The whole scripted run (every request above, times its count, plus the stream consumers):", ""]
    lines += ["| where | DynamoDB calls | RCU | WCU |", "|---|---:|---:|---:|"]
    for where, label in (("request", "request path"), ("stream", "stream consumers"), ("all", "total")):
        lines.append(
            f"| {label} | {arrow(b and b[f'{where}_calls'], a[f'{where}_calls'], 0)} | "
            f"{arrow(b and b[f'{where}_rcu'], a[f'{where}_rcu'], 0)} | "
            f"{arrow(b and b[f'{where}_wcu'], a[f'{where}_wcu'], 0)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=None, help="a git ref to count beside this checkout")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "hotpath.json"))
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "hotpath", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    result["after"] = count_storage_calls(args.rounds)
    if args.baseline:
        with baseline_tree(args.baseline) as tree:
            result["before"] = count_in(tree, args.rounds)
        result["baseline"] = commit_of(args.baseline)
    result["markdown"] = markdown(result["after"], result.get("before"), result.get("baseline", "before"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
