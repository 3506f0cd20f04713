"""Load benchmark: many concurrent simulated agent sessions against the local server, then a
counted (not sampled) check that every acknowledged write is stored.

    python -m bench.load --workers 24 --duration 40 [--server-workers 0,8@server,8] [--kill-midway [--kill-after N]]
                         [--out bench/results/load.json]

What it does:

1. starts ``python -m engram.local`` in a subprocess (hashing embedder, a high rate limit, a fresh
   temporary data directory) through ``engram.testing.server``, with each ``--server-workers`` count
   of handler processes in turn (one fresh server each: the counts are compared in one run; a count
   with ``@server`` keeps DynamoDB in the server process instead of a process of its own);
2. runs ``--workers`` threads for ``--duration`` seconds (or ``--max-requests``). Each thread plays
   sessions: ``POST /v1/sessions/start`` (with ``firstMessage``), then a mix of turns (sequential
   ``turnNumber``, ``memoriesUsed`` from earlier search hits), appended messages, memory creates,
   searches and reinforcements, then ``POST …/end``;
3. meanwhile a probe thread times direct boto3 calls (GetItem, PutItem, UpdateItem, Query) on the
   same moto DynamoDB endpoint the server uses (from ``<data_dir>/runtime.json``), and again when
   the server is idle; an in-process calibration run, once before the load runs, counts the
   DynamoDB calls each route makes (botocore calls attributed to the Lambda function that made them)
   and times each route with one sequential client;
4. with ``--kill-midway`` the server is SIGKILLed halfway through (or once ``--kill-after`` messages
   are acknowledged, however long that takes) and restarted on the same data directory; the agents
   carry on once it is back;
5. verifies every acknowledged write: every session exists with the acknowledged ``turn_count`` and
   ``message_count`` and all its acknowledged messages in order; every acknowledged memory exists and
   its ``feedback_score`` is the sum of acknowledged reinforcements (plus the outcome learning of
   sessions that ended with ``success``/``failure`` after using it);
6. prints a Markdown table and writes JSON (raw latency samples included) to ``--out``, with the CPU
   the server and its handler processes used per request (from ``/proc``; unlike req/s, it does not
   depend on how much of a shared machine the run got) and how much the machine gave just before
   the run: the CPU seconds per second of as many busy processes as it has cores (less than the
   core count while another job runs, or where a virtual machine's cores are shared).

A request whose outcome is unknown (a 5xx, a timeout, a connection cut by the kill) is not counted
as acknowledged; what it may have written is allowed for (a stored extra message is reported, never
a missing acknowledged one).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.report import machine

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "egm_bench_load_0123456789abcdefghijklmnopqrstuv"
DYNAMO_PROCESS_VARIABLE = "ENGRAM_LOCAL_DYNAMO_PROCESS"

TOPICS = [
    ("python", "The user prefers Python type hints and pytest for every new service"),
    ("deploy", "Deployments go out on Tuesdays through the blue green pipeline"),
    ("coffee", "The user drinks oat milk flat whites every morning before standup"),
    ("billing", "Invoices are generated on the first business day of each month"),
    ("oncall", "The on-call rotation changes every Monday at nine in the morning"),
    ("travel", "The user is travelling to Lisbon for a conference in late June"),
    ("database", "The orders database runs on DynamoDB with point in time recovery enabled"),
    ("design", "The dashboard redesign uses a dark theme with high contrast charts"),
    ("hiring", "The team is hiring two backend engineers with Go experience"),
    ("security", "API keys rotate every ninety days and are stored hashed"),
    ("music", "The user listens to jazz playlists while writing documentation"),
    ("garden", "The user grows tomatoes and basil on the balcony every summer"),
]
ROUTES = [
    "POST /v1/sessions/start",
    "POST /v1/sessions/{id}/turn",
    "POST /v1/sessions/{id}/messages",
    "POST /v1/memories",
    "POST /v1/memories/search",
    "POST /v1/memories/{id}/reinforce",
    "POST /v1/sessions/{id}/end",
]
OUTCOME_DELTA = {"success": 1, "failure": -1, "partial": 0}


# --------------------------------------------------------------------------------------------
# Bookkeeping of what was acknowledged


@dataclass
class SessionTrack:
    id: str
    messages: list[str] = field(default_factory=list)  # acknowledged contents, in order
    turns: int = 0  # acknowledged turns (numbered 1..turns)
    used: set[str] = field(default_factory=set)  # acknowledged memoriesUsed
    ended: str | None = None  # acknowledged outcome
    maybe_ended: str | None = None  # the outcome of an end whose answer was lost (it may have applied)
    ended_at: float | None = None
    uncertain: bool = False  # a request of unknown outcome touched it (abandoned after that)
    created_after_kill: bool = False


@dataclass
class MemoryTrack:
    id: str
    reinforced: int = 0  # sum of acknowledged reinforcement values
    unknown: list[int] = field(default_factory=list)  # values of reinforcements of unknown outcome


class Ledger:
    """Everything the server acknowledged, plus every latency sample."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: dict[str, SessionTrack] = {}
        self.memories: dict[str, MemoryTrack] = {}
        self.pool: list[str] = []  # memory ids known to clients (created or seen in search hits)
        self.samples: dict[str, list[tuple[float, float, int]]] = collections.defaultdict(list)
        self.warm_up_samples: dict[str, list[tuple[float, float, int]]] = collections.defaultdict(list)
        self.measuring = True
        self.unknown: collections.Counter[str] = collections.Counter()
        self.acked: collections.Counter[str] = collections.Counter()
        self.t0 = time.perf_counter()

    def sample(self, route: str, ms: float, status: int) -> None:
        with self.lock:
            into = self.samples if self.measuring else self.warm_up_samples
            into[route].append((round(time.perf_counter() - self.t0, 3), round(ms, 3), status))

    def start_measuring(self) -> None:
        """Samples from now on are the run's; those before were the warm-up's (their writes are
        still verified)."""
        with self.lock:
            self.measuring = True

    def memory(self, memory_id: str) -> MemoryTrack:
        with self.lock:
            track = self.memories.get(memory_id)
            if track is None:
                track = self.memories[memory_id] = MemoryTrack(memory_id)
                self.pool.append(memory_id)
            return track

    def known_memories(self, k: int, rng: random.Random) -> list[str]:
        with self.lock:
            return rng.sample(self.pool, min(k, len(self.pool)))


class Unknown(Exception):
    """The request's outcome is unknown (5xx, timeout, connection error)."""


class Refused(Exception):
    """The server answered 4xx: nothing was written."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:200]}")
        self.status = status


# --------------------------------------------------------------------------------------------
# The simulated agents


class Client:
    """One agent's HTTP client: one kept-alive connection, through the standard library's
    ``http.client`` (requests took about three times the CPU per call, and the agents share the
    machine's cores with the server they measure)."""

    HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    def __init__(self, base_url: Callable[[], str], ledger: Ledger, up: threading.Event) -> None:
        self.base_url = base_url
        self.ledger = ledger
        self.up = up
        self._connection: http.client.HTTPConnection | None = None
        self._origin = ""

    def _connect(self) -> http.client.HTTPConnection:
        """The kept-alive connection, or a new one if there is none, the server moved, or the
        server closed it (as urllib3 does: a closed socket reads as ready, at EOF)."""
        url = urlsplit(self.base_url())
        connection = self._connection
        if connection is not None and (
            self._origin != url.netloc or connection.sock is None or select.select([connection.sock], [], [], 0)[0]
        ):
            self.close()
            connection = None
        if connection is None:
            connection = self._connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
            self._origin = url.netloc
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def call(self, route: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.up.wait(120)
        started = time.perf_counter()
        try:
            connection = self._connect()
            connection.request("POST", path, body=json.dumps(body), headers=self.HEADERS)
            response = connection.getresponse()
            status, data = response.status, response.read()
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            ms = (time.perf_counter() - started) * 1000
            self.ledger.sample(route, ms, 0)
            self.close()
            raise Unknown(type(exc).__name__) from exc
        ms = (time.perf_counter() - started) * 1000
        self.ledger.sample(route, ms, status)
        if status >= 500:
            raise Unknown(str(status))
        if status >= 400:
            raise Refused(status, data.decode("utf-8", "replace"))
        result: dict[str, Any] = json.loads(data)
        with self.ledger.lock:
            self.ledger.acked[route] += 1
        return result


def _text(rng: random.Random, tag: str) -> tuple[str, str]:
    topic, fact = rng.choice(TOPICS)
    return topic, f"[{tag}] {fact}. Note {rng.randint(0, 10**6)} about {topic}."


class Deadline:
    """When the agents stop; moved while the run waits on a count rather than the clock."""

    def __init__(self, at: float) -> None:
        self.at = at

    def passed(self) -> bool:
        return time.monotonic() >= self.at


class Agent(threading.Thread):
    def __init__(
        self,
        number: int,
        client: Client,
        ledger: Ledger,
        deadline: Deadline,
        budget: Budget,
        seed: int,
        killed: threading.Event,
    ) -> None:
        super().__init__(name=f"agent-{number}", daemon=True)
        self.number = number
        self.client = client
        self.ledger = ledger
        self.deadline = deadline
        self.budget = budget
        self.rng = random.Random(seed * 1000 + number)
        self.killed = killed
        self.sessions = 0

    def run(self) -> None:
        while not self.deadline.passed() and self.budget.take():
            self.play_session()
            self.sessions += 1

    def _more(self) -> bool:
        return not self.deadline.passed() and self.budget.take()

    def play_session(self) -> None:
        rng, ledger = self.rng, self.ledger
        tag = f"a{self.number}s{self.sessions}"
        topic, first = _text(rng, tag + "-first")
        try:
            out = self.client.call(
                "POST /v1/sessions/start",
                "/v1/sessions/start",
                {
                    "agent_id": f"agent-{self.number}",
                    "title": f"Load session {tag}",
                    "firstMessage": first,
                    "metadata": {"bench": "load", "topic": topic},
                },
            )
        except Unknown:
            ledger.unknown["POST /v1/sessions/start"] += 1
            return
        except Refused:
            return
        track = SessionTrack(out["session_id"], created_after_kill=self.killed.is_set())
        with ledger.lock:
            ledger.sessions[track.id] = track
        hits: list[str] = [m["id"] for group in ("critical", "high") for m in out["context"][group]]
        sid = track.id
        steps = rng.randint(4, 12)
        for step in range(steps):
            if not self._more():
                break
            op = rng.choices(["turn", "messages", "search", "memory", "reinforce"], [35, 20, 20, 12, 13])[0]
            route = ""
            try:
                if op == "turn":
                    route = "POST /v1/sessions/{id}/turn"
                    _, user = _text(rng, f"{tag}-t{track.turns + 1}u")
                    _, reply = _text(rng, f"{tag}-t{track.turns + 1}a")
                    used = rng.sample(hits, min(len(hits), rng.randint(0, 3)))
                    body = {
                        "turnNumber": track.turns + 1,
                        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}],
                        "memoriesUsed": used,
                    }
                    self.client.call(route, f"/v1/sessions/{sid}/turn", body)
                    track.turns += 1
                    track.messages += [user, reply]
                    track.used.update(used)
                elif op == "messages":
                    route = "POST /v1/sessions/{id}/messages"
                    count = rng.randint(1, 3)
                    contents = [_text(rng, f"{tag}-m{len(track.messages) + i}")[1] for i in range(count)]
                    if count == 1 and rng.random() < 0.5:  # the seed's single-message form
                        body = {"role": "user", "content": contents[0]}
                    else:
                        body = {"messages": [{"role": "user", "content": c} for c in contents]}
                    self.client.call(route, f"/v1/sessions/{sid}/messages", body)
                    track.messages += contents
                elif op == "search":
                    route = "POST /v1/memories/search"
                    query = rng.choice(TOPICS)[1].split(" ", 3)[-1]
                    out = self.client.call(route, "/v1/memories/search", {"query": query, "topK": 5, "threshold": 0.2})
                    found = [r["id"] for r in out["results"]]
                    for memory_id in found:
                        ledger.memory(memory_id)
                    hits = list(dict.fromkeys(found + hits))[:10]
                elif op == "memory":
                    route = "POST /v1/memories"
                    topic, text = _text(rng, f"{tag}-mem{step}")
                    out = self.client.call(
                        route, "/v1/memories", {"text": text, "type": "fact", "entities": [topic], "sessionId": sid}
                    )
                    ledger.memory(out["id"])
                    hits = [out["id"], *hits][:10]
                else:
                    route = "POST /v1/memories/{id}/reinforce"
                    targets = hits or ledger.known_memories(1, rng)
                    if not targets:
                        continue
                    memory_id = rng.choice(targets)
                    value = 1 if rng.random() < 0.75 else -1
                    memory = ledger.memory(memory_id)
                    try:
                        self.client.call(route, f"/v1/memories/{memory_id}/reinforce", {"value": value, "reason": tag})
                    except Unknown:
                        with ledger.lock:
                            memory.unknown.append(value)
                        raise
                    with ledger.lock:
                        memory.reinforced += value
            except Refused as exc:
                ledger.unknown[f"refused {exc.status} {route}"] += 1
                continue
            except Unknown:
                ledger.unknown[route] += 1
                if op in ("turn", "messages"):
                    track.uncertain = True
                    return  # its counts are no longer known exactly: leave this session
                continue
        if not self._more():
            return  # the run is over: this session stays active
        outcome = rng.choice(["success", "partial", "failure"])
        try:
            self.client.call(
                "POST /v1/sessions/{id}/end",
                f"/v1/sessions/{sid}/end",
                {"outcome": outcome, "extract_memories": False},
            )
        except Unknown:
            ledger.unknown["POST /v1/sessions/{id}/end"] += 1
            track.uncertain = True
            track.maybe_ended = outcome
            return
        except Refused as exc:
            ledger.unknown[f"refused {exc.status} end"] += 1
            return
        track.ended = outcome
        track.ended_at = time.monotonic()


class Budget:
    """At most ``limit`` requests in all (``None``: unbounded, the duration decides)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit
        self.lock = threading.Lock()

    def take(self) -> bool:
        if self.left is None:
            return True
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


# --------------------------------------------------------------------------------------------
# Direct storage timing (boto3 on the same moto endpoint)


def _runtime_env(data_dir: Path) -> dict[str, str]:
    return dict(json.loads((data_dir / "runtime.json").read_text())["env"])


class StorageProbe(threading.Thread):
    """Times direct DynamoDB calls on the server's own moto endpoint while the load runs."""

    OPS = ("GetItem", "PutItem", "UpdateItem", "Query")

    # Four calls a second (one of each operation a second): enough samples for a p95 over a run,
    # and about a tenth of a core less, on the server and in this process, than twenty a second.
    def __init__(self, data_dir: Path, stop: threading.Event, interval: float = 0.25) -> None:
        super().__init__(name="storage-probe", daemon=True)
        self.data_dir = data_dir
        self.stop_event = stop
        self.interval = interval
        self.samples: dict[str, list[float]] = collections.defaultdict(list)
        self.errors = 0
        self._client: Any = None
        self._env: dict[str, str] = {}
        self._n = 0

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._env = _runtime_env(self.data_dir)
            self._client = boto3.client(
                "dynamodb",
                endpoint_url=self._env["AWS_ENDPOINT_URL_DYNAMODB"],
                region_name=self._env.get("AWS_REGION", "us-east-1"),
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return self._client

    def once(self, op: str) -> float:
        client = self.client()
        env = self._env
        self._n += 1
        pk = f"bench-probe#{self._n % 16}"
        expires = int(time.time()) + 600
        started = time.perf_counter()
        if op == "GetItem":
            client.get_item(
                TableName=env["ENGRAM_SESSIONS_TABLE"], Key={"pk": {"S": "local#sess_probe"}}, ConsistentRead=True
            )
        elif op == "PutItem":
            client.put_item(
                TableName=env["ENGRAM_RATE_LIMITS_TABLE"],
                Item={"pk": {"S": pk}, "hits": {"N": "0"}, "expires_at": {"N": str(expires)}},
            )
        elif op == "UpdateItem":
            client.update_item(
                TableName=env["ENGRAM_RATE_LIMITS_TABLE"],
                Key={"pk": {"S": pk}},
                UpdateExpression="ADD hits :one SET expires_at = :e",
                ExpressionAttributeValues={":one": {"N": "1"}, ":e": {"N": str(expires)}},
            )
        else:
            client.query(
                TableName=env["ENGRAM_MESSAGES_TABLE"],
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "local#sess_probe"}},
                ConsistentRead=True,
            )
        return (time.perf_counter() - started) * 1000

    def run(self) -> None:
        i = 0
        while not self.stop_event.wait(self.interval):
            op = self.OPS[i % len(self.OPS)]
            i += 1
            try:
                self.samples[op].append(self.once(op))
            except Exception:
                self.errors += 1
                self._client = None  # the server may have restarted on another port
                self.stop_event.wait(0.5)

    def idle(self, rounds: int) -> dict[str, list[float]]:
        out: dict[str, list[float]] = collections.defaultdict(list)
        self._client = None
        for _ in range(rounds):
            for op in self.OPS:
                out[op].append(self.once(op))
        return out


# --------------------------------------------------------------------------------------------
# Counting the storage calls each route makes (in-process, through the real local runtime)


def count_storage_calls(rounds: int = 6) -> dict[str, Any]:
    """Run a short scripted sequence through an in-process LocalRuntime and count every botocore
    call, attributed to the Lambda function (route handler, authorizer, stream consumer) whose
    invocation made it."""
    import botocore.client

    from engram.local import lambdas
    from engram.local.runtime import LocalRuntime

    tls = threading.local()
    calls: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    invocations: collections.Counter[str] = collections.Counter()
    original_call = botocore.client.BaseClient._make_api_call
    original_invoke = lambdas.LambdaFunction.invoke

    def counting_call(self: Any, operation: str, params: Any) -> Any:
        calls[getattr(tls, "function", None) or "(runtime)"][operation] += 1
        return original_call(self, operation, params)

    def tagged_invoke(self: Any, event: Any) -> Any:
        previous = getattr(tls, "function", None)
        tls.function = self.spec.logical_id
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
        "ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000",
        "ENGRAM_LOCAL_SCHEDULE_SECONDS": "3600",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    botocore.client.BaseClient._make_api_call = counting_call  # type: ignore[method-assign]
    lambdas.LambdaFunction.invoke = tagged_invoke  # type: ignore[method-assign]
    runtime = LocalRuntime(ROOT / "template.yaml", tmp / "data", port=0, environ=environ)
    per_route: dict[str, dict[str, Any]] = {}
    try:
        runtime.start()
        assert runtime.template is not None and runtime.pump is not None
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

        # warm every handler once (imports are not what is being counted)
        for _ in range(2):
            mem = post("/v1/memories", {"text": _text(rng, "warm")[1]})
            session = post("/v1/sessions/start", {"firstMessage": "warm"})["session_id"]
            post(f"/v1/sessions/{session}/turn", {"turnNumber": 1, "messages": [{"role": "user", "content": "w"}]})
            post(f"/v1/sessions/{session}/messages", {"role": "user", "content": "w"})
            post("/v1/memories/search", {"query": "warm", "threshold": 0.0})
            post(f"/v1/memories/{mem['id']}/reinforce", {"value": 1})
            post(f"/v1/sessions/{session}/end", {"outcome": "partial", "extract_memories": False})
        runtime.pump.drain(10)
        calls.clear()
        invocations.clear()
        sequential.clear()
        memory_ids: list[str] = []
        for i in range(rounds):
            memory_ids.append(post("/v1/memories", {"text": _text(rng, f"c{i}")[1], "type": "fact"})["id"])
        for i in range(rounds):
            session = post("/v1/sessions/start", {"firstMessage": _text(rng, f"s{i}")[1]})["session_id"]
            used = memory_ids[i : i + 2]
            post(
                f"/v1/sessions/{session}/turn",
                {"turnNumber": 1, "messages": [{"role": "user", "content": f"u{i}"}], "memoriesUsed": used},
            )
            post(f"/v1/sessions/{session}/messages", {"messages": [{"role": "user", "content": f"m{i}"}]})
            post("/v1/memories/search", {"query": rng.choice(TOPICS)[1], "topK": 5, "threshold": 0.2})
            post(f"/v1/memories/{memory_ids[i]}/reinforce", {"value": 1})
            post(f"/v1/sessions/{session}/end", {"outcome": "success", "extract_memories": False})
        runtime.pump.drain(10)
        auth_id = "AuthorizerFunction"
        auth_n = max(1, invocations[auth_id])
        auth_calls = {op: n / auth_n for op, n in calls[auth_id].items()}
        for route in ROUTES:
            fid = function_of.get(route)
            if fid is None or not invocations[fid]:
                continue
            n = invocations[fid]
            by_op = {op: round(c / n, 2) for op, c in sorted(calls[fid].items())}
            per_route[route] = {
                "function": fid,
                "invocations": n,
                "handler_calls": round(sum(calls[fid].values()) / n, 2),
                "authorizer_calls": round(sum(auth_calls.values()), 2),
                "by_operation": by_op,
                "one_client_p50_ms": round(pct(sequential[route], 50), 2),
            }
        background = {
            fid: {
                "invocations": invocations[fid],
                "calls_per_invocation": round(sum(calls[fid].values()) / max(1, invocations[fid]), 2),
                "by_operation": dict(calls[fid]),
            }
            for fid in ("OnMemoryChangeFunction", "OnSessionChangeFunction")
            if invocations[fid]
        }
        return {
            "routes": per_route,
            "authorizer": {k: round(v, 2) for k, v in auth_calls.items()},
            "stream_functions": background,
        }
    finally:
        runtime.stop(snapshot=False)
        botocore.client.BaseClient._make_api_call = original_call  # type: ignore[method-assign]
        lambdas.LambdaFunction.invoke = original_invoke  # type: ignore[method-assign]
        shutil.rmtree(tmp, ignore_errors=True)


def calibrate() -> dict[str, Any]:
    print("counting storage calls per route (in-process local runtime, one sequential client)...", flush=True)
    return count_storage_calls()


# --------------------------------------------------------------------------------------------
# Verification


class Verifier:
    def __init__(self, url: str) -> None:
        self.url = url
        self.local = threading.local()

    def http(self) -> requests.Session:
        session = getattr(self.local, "http", None)
        if session is None:
            session = self.local.http = requests.Session()
            session.headers.update({"Authorization": f"Bearer {API_KEY}"})
        return session

    def get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        for attempt in range(5):
            response = self.http().get(self.url + path, params=params, timeout=60)
            if response.status_code < 500:
                return response
            time.sleep(0.2 * (attempt + 1))
        return response

    def session(self, track: SessionTrack) -> list[str]:
        """Problems with one session (empty: everything acknowledged is there)."""
        problems: list[str] = []
        response = self.get(f"/v1/sessions/{track.id}")
        if response.status_code != 200:
            return [f"{track.id}: GET answered {response.status_code}"]
        session = response.json()
        stored: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = self.get(f"/v1/sessions/{track.id}/messages", params)
            if page.status_code != 200:
                return [f"{track.id}: GET messages answered {page.status_code}"]
            body = page.json()
            stored += [m["content"] for m in body["data"]]
            cursor = body.get("next_cursor")
            if not body.get("has_more") or not cursor:
                break
        if track.uncertain:
            if not _is_subsequence(track.messages, stored):
                problems.append(f"{track.id}: an acknowledged message is missing or out of order")
            if session["turn_count"] < track.turns or session["message_count"] < len(track.messages):
                problems.append(f"{track.id}: counts below acknowledged ({session['turn_count']}/{track.turns} turns)")
        else:
            if stored != track.messages:
                problems.append(f"{track.id}: messages differ ({len(stored)} stored, {len(track.messages)} acked)")
            if session["message_count"] != len(track.messages):
                problems.append(f"{track.id}: message_count {session['message_count']} != {len(track.messages)}")
            if session["turn_count"] != track.turns:
                problems.append(f"{track.id}: turn_count {session['turn_count']} != {track.turns}")
        if session["message_count"] != len(stored):
            problems.append(f"{track.id}: message_count {session['message_count']} but {len(stored)} messages stored")
        if track.ended and session["status"] != "ended":
            problems.append(f"{track.id}: end acknowledged but status {session['status']}")
        if track.ended and session.get("outcome") != track.ended:
            problems.append(f"{track.id}: outcome {session.get('outcome')} != {track.ended}")
        return problems

    def memory(self, memory_id: str) -> tuple[int | None, int]:
        response = self.get(f"/v1/memories/{memory_id}")
        if response.status_code != 200:
            return None, response.status_code
        return int(response.json()["feedback_score"]), 200


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(h == n for h in it) for n in needles)


def expected_feedback(ledger: Ledger) -> dict[str, tuple[int, int]]:
    """memory id → (lowest, highest) feedback_score the acknowledged writes allow.

    Acknowledged reinforcements count exactly. Outcome learning (success +1 / failure -1 per memory
    used in a session's turns) runs on the sessions stream after ``end``; it is exact, also across a
    kill: the stream pump resumes from its checkpoint, and outcome learning is idempotent."""
    ranges: dict[str, list[int]] = {m: [t.reinforced, t.reinforced] for m, t in ledger.memories.items()}
    for memory in ledger.memories.values():
        for value in memory.unknown:
            lo_hi = ranges[memory.id]
            lo_hi[0] += min(0, value)
            lo_hi[1] += max(0, value)
    for session in ledger.sessions.values():
        delta = OUTCOME_DELTA.get(session.ended or "", 0)
        maybe = OUTCOME_DELTA.get(session.maybe_ended or "", 0)
        for memory_id in session.used:
            lo_hi = ranges.setdefault(memory_id, [0, 0])
            lo_hi[0] += delta + min(0, maybe)
            lo_hi[1] += delta + max(0, maybe)
    return {m: (lo, hi) for m, (lo, hi) in ranges.items()}


def verify(url: str, ledger: Ledger, workers: int, settle_seconds: float = 30.0) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    verifier = Verifier(url)
    sessions = list(ledger.sessions.values())
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(verifier.session, sessions))
    session_problems = [p for r in results for p in r]
    ranges = expected_feedback(ledger)
    ids = sorted(ranges)
    deadline = time.monotonic() + settle_seconds
    memory_problems: dict[str, str] = {}
    pending = ids
    while True:
        with ThreadPoolExecutor(workers) as pool:
            found = dict(zip(pending, pool.map(verifier.memory, pending), strict=True))
        memory_problems = {}
        for memory_id, (score, status) in found.items():
            lo, hi = ranges[memory_id]
            if score is None:
                memory_problems[memory_id] = f"GET answered {status}"
            elif not lo <= score <= hi:
                memory_problems[memory_id] = f"feedback_score {score} outside [{lo}, {hi}]"
        pending = sorted(memory_problems)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1.0)  # outcome learning arrives through the stream: give it a moment
    exact = sum(1 for lo, hi in ranges.values() if lo == hi)
    return {
        "sessions_acknowledged": len(sessions),
        "sessions_verified": len(sessions) - len({p.split(":")[0] for p in session_problems}),
        "sessions_uncertain": sum(1 for s in sessions if s.uncertain),
        "sessions_ended": sum(1 for s in sessions if s.ended),
        "messages_acknowledged": sum(len(s.messages) for s in sessions),
        "turns_acknowledged": sum(s.turns for s in sessions),
        "memories_acknowledged": len(ids),
        "memories_verified": len(ids) - len(memory_problems),
        "memories_exact": exact,
        "reinforcements_acknowledged": ledger.acked["POST /v1/memories/{id}/reinforce"],
        "acknowledged_by_route": dict(ledger.acked),
        "feedback_sum_acknowledged": sum(t.reinforced for t in ledger.memories.values()),
        "problems": session_problems + [f"{m}: {p}" for m, p in sorted(memory_problems.items())],
        "lost": len(session_problems) + len(memory_problems),
    }


# --------------------------------------------------------------------------------------------
# Statistics and output


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(pct(values, 50), 2),
        "p95": round(pct(values, 95), 2),
        "p99": round(pct(values, 99), 2),
        "mean": round(statistics.fmean(values), 2) if values else float("nan"),
        "max": round(max(values), 2) if values else float("nan"),
    }


def storage_estimate(calls: dict[str, Any], idle: dict[str, dict[str, float]]) -> float:
    """Milliseconds the route's storage calls take when made directly, one after another."""
    fallback = idle.get("GetItem", {}).get("p50", 0.0)
    write = idle.get("PutItem", {}).get("p50", fallback)
    table = {
        "GetItem": fallback,
        "BatchGetItem": fallback,
        "Query": idle.get("Query", {}).get("p50", fallback),
        "Scan": idle.get("Query", {}).get("p50", fallback),
        "PutItem": write,
        "UpdateItem": idle.get("UpdateItem", {}).get("p50", write),
        "DeleteItem": write,
        "TransactWriteItems": write,
        "BatchWriteItem": write,
    }
    total = 0.0
    for op, n in calls.get("by_operation", {}).items():
        total += n * table.get(op, fallback)
    total += calls.get("authorizer_calls", 0) * fallback
    return total


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Load: {result['config']['workers']} workers, {result['elapsed_s']:.1f} s, "
        f"{result['requests']} requests, **{result['throughput_rps']:.1f} req/s**"
        + (" (server SIGKILLed and restarted midway)" if result.get("kill") else "")
        + (
            f" after a {result['warm_up']['seconds']:.0f} s warm-up ({result['warm_up']['requests']} requests, "
            f"not in these figures; {result.get('handler_processes_at_end')} handler processes at the end)"
            if (result.get("warm_up") or {}).get("seconds")
            else ""
        )
        + (
            f"; the server and its handler processes used {result['server_cpu']['cores']:.2f} cores, "
            f"**{result['server_cpu']['ms_per_request']:.1f} ms of CPU per request**"
            if result.get("server_cpu")
            else ""
        )
        + (
            f" (the server process {result['server_cpu']['server_process']['cores']:.2f} cores, "
            f"{result['server_cpu']['server_process']['ms_per_request']:.1f} ms/request; "
            + (
                f"DynamoDB's process {result['server_cpu']['dynamo_process']['cores']:.2f} cores, "
                f"{result['server_cpu']['dynamo_process']['ms_per_request']:.1f} ms/request; "
                if result["server_cpu"].get("dynamo_process")
                else ""
            )
            + "the handler processes "
            f"{result['server_cpu']['handlers']['cores']:.2f} cores, "
            f"{result['server_cpu']['handlers']['ms_per_request']:.1f} ms/request)"
            if (result.get("server_cpu") or {}).get("server_process")
            else ""
        )
        + (
            f" (the load client, on the same cores: {result['client_cpu']['ms_per_request']:.1f} ms per request)"
            if result.get("client_cpu")
            else ""
        )
        + (
            f"; just before the run the machine gave {result['machine'].get('cores')} busy processes "
            f"{result['machine']['effective_cores']:.2f} cores"
            if (result.get("machine") or {}).get("effective_cores") is not None
            else ""
        ),
        "",
        "| route | requests | req/s | p50 ms | p95 ms | p99 ms | errors | one client p50 ms | storage calls/req "
        "| direct storage ms (est.) | server overhead, one client ms |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for route in ROUTES:
        row = result["routes"].get(route)
        if not row:
            continue
        calls = result.get("storage_calls", {}).get("routes", {}).get(route)
        ncalls = f"{calls['handler_calls'] + calls['authorizer_calls']:.1f}" if calls else "-"
        one = calls.get("one_client_p50_ms") if calls else None
        est = row.get("storage_estimate_ms")
        overhead = f"{one - est:.1f}" if one is not None and est is not None else "-"
        errors = ", ".join(f"{k}x{v}" for k, v in sorted(row["errors"].items())) or "0"
        lines.append(
            f"| `{route}` | {row['n']} | {row['rps']:.1f} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} | "
            f"{errors} | {'-' if one is None else f'{one:.1f}'} | {ncalls} | "
            f"{'-' if est is None else f'{est:.1f}'} | {overhead} |"
        )
    lines += [
        "",
        "p50/p95/p99 are under the full load (they include queueing for a free handler process); "
        "'one client' is the same route with a single sequential client (the in-process calibration run).",
    ]
    storage = result["storage"]
    lines += [
        "",
        "Direct boto3 calls to the same moto DynamoDB endpoint (ms):",
        "",
        "| operation | idle p50 | idle p95 | under load p50 | under load p95 | under load n |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for op in StorageProbe.OPS:
        idle = storage["idle"].get(op, {})
        load = storage["under_load"].get(op, {})
        lines.append(
            f"| {op} | {idle.get('p50', float('nan')):.2f} | {idle.get('p95', float('nan')):.2f} | "
            f"{load.get('p50', float('nan')):.2f} | {load.get('p95', float('nan')):.2f} | {load.get('n', 0)} |"
        )
    v = result["verification"]
    lines += [
        "",
        "Verification (every acknowledged write, counted):",
        "",
        "| check | acknowledged | verified |",
        "|---|---:|---:|",
        f"| sessions exist, counts and messages in order | {v['sessions_acknowledged']} | {v['sessions_verified']} |",
        f"| messages (in {v['sessions_acknowledged']} sessions) | {v['messages_acknowledged']} | "
        f"{'all' if not v['lost'] else 'see problems'} |",
        f"| turns | {v['turns_acknowledged']} | {'all' if not v['lost'] else 'see problems'} |",
        f"| memories exist, feedback_score = Σ reinforcements (+ outcome learning) | {v['memories_acknowledged']} | "
        f"{v['memories_verified']} ({v['memories_exact']} exact) |",
        f"| lost acknowledged writes | - | **{v['lost']}** |",
    ]
    if result.get("kill"):
        k = result["kill"]
        lines += [
            "",
            f"Kill: SIGKILL at {k['killed_at_s']:.1f} s, restart took {k['restart_s']:.1f} s; "
            f"{k['sessions_before_kill']} sessions acknowledged before the kill, all checked after the restart.",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The run


@contextmanager
def local_server(
    data_dir: Path, log_dir: Path, server_workers: int | None = None, env: dict[str, str] | None = None
) -> Iterator[Any]:
    from engram.testing.server import LocalServer

    server = LocalServer(
        data_dir,
        API_KEY,
        env={
            "ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000",
            "ENGRAM_EMBEDDER": "hashing",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            **(env or {}),
        },
        lazy=False,  # as `make run` starts: every handler imported before the first request
        args=[] if server_workers is None else ["--workers", str(server_workers)],
    )
    server.log = log_dir / f"server-{server.port}.log"
    start_server(server)
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop(signal.SIGTERM)


def start_server(server: Any, timeout: float = 120.0) -> None:
    """``LocalServer.start`` gives up on a health check that times out (the port is bound before the
    journal replay ends, so a restart after a kill can accept connections before it answers): keep
    waiting for the health check in that case."""
    deadline = time.monotonic() + timeout
    try:
        server.start(timeout=timeout)
        return
    except requests.Timeout:
        pass
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"server exited {server.process.returncode}")
        try:
            if requests.get(f"{server.url}/v1/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def server_cpu_seconds(server: Any) -> tuple[float, float, float] | None:
    """User + system CPU seconds of the server process itself, of DynamoDB's process (0 when
    DynamoDB runs in the server process) and of the handler processes (its other live
    descendants), from ``/proc`` (None where there is none)."""
    tree = server_process_tree(server)
    if tree is None:
        return None
    root = server.process.pid
    dynamo = dynamo_process_ids(tree)
    return (
        tree.get(root, 0.0),
        sum(tree[pid] for pid in dynamo),
        sum(seconds for pid, seconds in tree.items() if pid != root and pid not in dynamo),
    )


def effective_cores(seconds: float = 2.0) -> float:
    """The CPU seconds per second that as many busy processes as the machine has cores get: the
    core count on a machine of its own, less where a virtual machine's cores are shared (on this
    project's 2-core test machine two busy processes have got 1.4 to 2.0)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    count = os.cpu_count() or 1
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_spin, [0.05] * count))  # every process started before the measured spin
        used = sum(pool.map(_spin, [seconds] * count))
    return round(used / seconds, 2)


def _spin(seconds: float) -> float:
    """Busy for ``seconds`` of wall time; returns the CPU seconds this process got meanwhile."""
    start, cpu = time.monotonic(), time.process_time()
    while time.monotonic() - start < seconds:
        pass
    return time.process_time() - cpu


def dynamo_process_ids(tree: dict[int, float]) -> set[int]:
    """Which of the server's processes is DynamoDB's (engram.local.dynamo_process)."""
    found = set()
    for pid in tree:
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"engram.local.dynamo_process" in arguments:
            found.add(pid)
    return found


def server_process_tree(server: Any) -> dict[int, float] | None:
    """The server process and its live descendants: pid -> CPU seconds (None without ``/proc``)."""
    if server.process is None or not Path("/proc/self/stat").exists():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    root = server.process.pid
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: times.get(pid, 0.0) for pid in tree}


def pool_label(server_workers: int | None) -> str:
    """How many handler processes a server started with ``--workers server_workers`` runs: the
    warm count, then up to that many while all are busy (as ``python -m engram.local`` decides)."""
    from engram.local.workers import default_size, warm_count

    most = default_size() if server_workers is None else server_workers
    if most == 0:
        return "0"  # every handler in the server process
    warm = warm_count(most)
    return str(most) if warm == most else f"{warm}-{most}"


def _acknowledged_messages(ledger: Ledger) -> int:
    with ledger.lock:
        return sum(len(session.messages) for session in ledger.sessions.values())


def _wait_for_messages(ledger: Ledger, count: int, agents: list[Agent], timeout: float = 600.0) -> None:
    """Until ``count`` messages are acknowledged: the kill then lands on a known amount of work."""
    deadline = time.monotonic() + timeout
    while _acknowledged_messages(ledger) < count:
        if time.monotonic() > deadline or not any(agent.is_alive() for agent in agents):
            raise RuntimeError(f"fewer than {count} messages were acknowledged; nothing to kill for")
        time.sleep(0.05)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One load run against a fresh server with ``args.server_workers`` handler processes.

    With ``--kill-midway`` the kill comes after ``args.kill_after`` acknowledged messages (however
    long that takes on a busy machine), and the agents then carry on for half the duration; without
    ``kill_after`` it comes at half the duration."""
    server_workers: int | None = getattr(args, "server_workers", None)
    kill_after: int | None = getattr(args, "kill_after", None)
    server_env: dict[str, str] = dict(getattr(args, "server_env", None) or [])
    tmp = Path(tempfile.mkdtemp(prefix="engram-load-"))
    data_dir = tmp / "data"
    result: dict[str, Any] = {
        "benchmark": "load",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "config": {
            "workers": args.workers,
            "server_workers": server_workers,
            "duration_s": args.duration,
            "max_requests": args.max_requests,
            "kill_midway": args.kill_midway,
            "kill_after": kill_after,
            "seed": args.seed,
            "embedder": "hashing",
            "server_env": server_env,
        },
    }
    try:
        storage_calls = getattr(args, "storage_calls", None)
        if storage_calls is None and args.count_calls:
            storage_calls = calibrate()
        if storage_calls is not None:
            result["storage_calls"] = storage_calls
        with local_server(data_dir, tmp, server_workers, server_env) as server:
            ledger = Ledger()
            up = threading.Event()
            up.set()
            killed = threading.Event()
            probe_stop = threading.Event()
            probe = StorageProbe(data_dir, probe_stop)
            budget = Budget(args.max_requests)
            started = time.monotonic()
            counting = args.kill_midway and kill_after is not None
            deadline = Deadline(float("inf") if counting else started + args.duration)
            agents = [
                Agent(i, Client(lambda: server.url, ledger, up), ledger, deadline, budget, args.seed, killed)
                for i in range(args.workers)
            ]
            warm_up = 0.0 if args.kill_midway else float(getattr(args, "warm_up", 0.0) or 0.0)
            # How much CPU the machine gives right now (a virtual machine's cores may be shared):
            # the CPU per request below does not depend on it, req/s does.
            result["machine"]["effective_cores"] = effective_cores()
            print(
                f"load: the machine gave {os.cpu_count()} busy processes "
                f"{result['machine']['effective_cores']:.2f} cores just before this run",
                flush=True,
            )
            print(
                f"load: {args.workers} agents for {args.duration:.0f} s"
                + (f" after a {warm_up:.0f} s warm-up" if warm_up else "")
                + f" against {server.url} ({run_label(result)} handler processes)"
                + "".join(f", {k}={v}" for k, v in server_env.items()),
                flush=True,
            )
            probe.start()
            if warm_up:
                ledger.measuring = False
                deadline.at = float("inf")
                for agent in agents:
                    agent.start()
                time.sleep(warm_up)
                ledger.start_measuring()
                started = time.monotonic()
                deadline.at = started + args.duration
            cpu_before = server_cpu_seconds(server)
            client_cpu_before = time.process_time()
            if not warm_up:
                for agent in agents:
                    agent.start()
            kill_info: dict[str, Any] | None = None
            kill_mono: float | None = None
            if args.kill_midway:
                if counting:
                    assert kill_after is not None
                    _wait_for_messages(ledger, kill_after, agents)
                else:
                    time.sleep(args.duration / 2)
                sessions_before = len(ledger.sessions)
                messages_before = _acknowledged_messages(ledger)
                up.clear()
                kill_mono = time.monotonic()
                server.stop(signal.SIGKILL)
                killed.set()
                restart_started = time.monotonic()
                start_server(server)
                restart_s = time.monotonic() - restart_started
                if counting:
                    deadline.at = time.monotonic() + args.duration / 2
                up.set()
                kill_info = {
                    "killed_at_s": kill_mono - started,
                    "restart_s": restart_s,
                    "sessions_before_kill": sessions_before,
                    "messages_before_kill": messages_before,
                }
                print(f"killed at {kill_mono - started:.1f} s; restarted in {restart_s:.1f} s", flush=True)
            for agent in agents:
                agent.join()
            elapsed = time.monotonic() - started
            cpu_after = server_cpu_seconds(server)
            client_cpu = time.process_time() - client_cpu_before
            tree = server_process_tree(server)
            result["handler_processes_at_end"] = None if tree is None else len(tree) - 1 - len(dynamo_process_ids(tree))
            probe_stop.set()
            probe.join()
            print("load done; measuring idle storage and verifying...", flush=True)
            idle = probe.idle(args.idle_rounds)
            verification = verify(server.url, ledger, args.workers)
            log_tail = server.log.read_text(errors="replace")[-4000:] if server.log.exists() else ""
        result["elapsed_s"] = round(elapsed, 2)
        all_samples = [s for samples in ledger.samples.values() for s in samples]
        result["requests"] = len(all_samples)
        result["throughput_rps"] = round(len(all_samples) / elapsed, 2)
        if cpu_before is not None and cpu_after is not None and not kill_info:
            # CPU the server and its handler processes used: per request it does not depend on how
            # much of a shared machine the run got, where req/s does.
            own, dynamo, handlers = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
            per_request = 1000 / max(1, len(all_samples))
            total = own + dynamo + handlers
            result["server_cpu"] = {
                "seconds": round(total, 2),
                "cores": round(total / elapsed, 2),
                "ms_per_request": round(total * per_request, 2),
                # the server process alone (gateway, stream pumps, index, and moto when DynamoDB runs
                # there; one GIL), DynamoDB's process, and the handler processes together (one that
                # exited before the end of the run is not counted)
                "server_process": {"cores": round(own / elapsed, 2), "ms_per_request": round(own * per_request, 2)},
                "handlers": {"cores": round(handlers / elapsed, 2), "ms_per_request": round(handlers * per_request, 2)},
            }
            if dynamo:
                result["server_cpu"]["dynamo_process"] = {
                    "cores": round(dynamo / elapsed, 2),
                    "ms_per_request": round(dynamo * per_request, 2),
                }
        # This process (the agents and the storage probe) runs on the same cores as the server.
        result["client_cpu"] = {
            "seconds": round(client_cpu, 2),
            "ms_per_request": round(1000 * client_cpu / max(1, len(all_samples)), 2),
        }
        warm_up_samples = [s for samples in ledger.warm_up_samples.values() for s in samples]
        result["warm_up"] = {"seconds": warm_up, "requests": len(warm_up_samples)}
        # Errors count whenever they happened, warm-up included.
        result["errors_by_status"] = dict(
            collections.Counter(str(s[2]) for s in all_samples + warm_up_samples if not 200 <= s[2] < 300)
        )
        result["unknown_outcome"] = dict(ledger.unknown)
        result["storage"] = {
            "idle": {op: summarize(v) for op, v in idle.items()},
            "under_load": {op: summarize(v) for op, v in probe.samples.items()},
            "probe_errors": probe.errors,
        }
        routes: dict[str, Any] = {}
        for route in ROUTES:
            samples = ledger.samples.get(route, [])
            if not samples:
                continue
            ok = [ms for _, ms, status in samples if 200 <= status < 300]
            row: dict[str, Any] = {
                **summarize(ok),
                "n": len(samples),
                "rps": round(len(samples) / elapsed, 2),
                "errors": dict(collections.Counter(str(s) for _, _, s in samples if not 200 <= s < 300)),
                "samples": [[t, ms, status] for t, ms, status in samples],
            }
            calls = result.get("storage_calls", {}).get("routes", {}).get(route)
            if calls:
                row["storage_estimate_ms"] = round(storage_estimate(calls, result["storage"]["idle"]), 2)
            routes[route] = row
        result["routes"] = routes
        result["verification"] = verification
        if kill_info:
            result["kill"] = kill_info
        if verification["lost"] or result["errors_by_status"]:
            result["server_log_tail"] = log_tail
        result["markdown"] = markdown(result)
        return result
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def comparison_row(result: dict[str, Any]) -> dict[str, Any]:
    """One run's headline: throughput, latency over every route, errors, verification."""
    ok = [ms for row in result["routes"].values() for _, ms, status in row["samples"] if 200 <= status < 300]
    verification = result["verification"]
    return {
        "server_workers": result["config"]["server_workers"],
        "handler_processes": run_label(result),
        "handler_processes_at_end": result.get("handler_processes_at_end"),
        "requests": result["requests"],
        "throughput_rps": result["throughput_rps"],
        "p50_ms": round(pct(ok, 50), 1),
        "p95_ms": round(pct(ok, 95), 1),
        "cpu_ms_per_request": (result.get("server_cpu") or {}).get("ms_per_request"),
        "server_process_cpu_ms_per_request": ((result.get("server_cpu") or {}).get("server_process") or {}).get(
            "ms_per_request"
        ),
        "dynamo_process_cpu_ms_per_request": ((result.get("server_cpu") or {}).get("dynamo_process") or {}).get(
            "ms_per_request"
        ),
        "client_cpu_ms_per_request": (result.get("client_cpu") or {}).get("ms_per_request"),
        "effective_cores": (result.get("machine") or {}).get("effective_cores"),
        "errors": sum(int(n) for n in result["errors_by_status"].values()),
        "acknowledged_writes": verification["messages_acknowledged"] + verification["memories_acknowledged"],
        "lost": verification["lost"],
    }


def comparison_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "Handler processes compared in one run (same agents, seed and duration; 0 = every handler, and DynamoDB, "
        "in the server process, one event at a time; 3-8 = 3 started with the server, more started while all are "
        "busy, up to 8; DynamoDB runs in a process of its own unless the row says otherwise):",
        "",
        "| handler processes | machine's cores before | at the end | requests | req/s | p50 ms | p95 ms "
        "| server CPU ms/request "
        "| of which the server process | of which DynamoDB's process | client CPU ms/request | errors "
        "| acknowledged messages + memories | lost |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cpu = row.get("cpu_ms_per_request")
        client = row.get("client_cpu_ms_per_request")
        own = row.get("server_process_cpu_ms_per_request")
        dynamo = row.get("dynamo_process_cpu_ms_per_request")
        lines.append(
            f"| {row['handler_processes']} | {row.get('effective_cores') or '-'} | "
            f"{row.get('handler_processes_at_end', '-')} | {row['requests']} | "
            f"{row['throughput_rps']:.1f} | {row['p50_ms']:.1f} | "
            f"{row['p95_ms']:.1f} | {'-' if cpu is None else f'{cpu:.1f}'} | {'-' if own is None else f'{own:.1f}'} | "
            f"{'-' if dynamo is None else f'{dynamo:.1f}'} | "
            f"{'-' if client is None else f'{client:.1f}'} | {row['errors']} | "
            f"{row['acknowledged_writes']} | {row['lost']} |"
        )
    return "\n".join(lines)


def _name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


IN_SERVER = "@server"  # a --server-workers suffix: DynamoDB in the server process, as before it had its own


def _server_workers(text: str) -> list[tuple[int, bool]]:
    """``3,default@server,default`` -> [(3, False), (8, True), (8, False)]: each count of handler
    processes, and whether DynamoDB runs in the server process rather than its own."""
    from engram.local.workers import MAX_WORKERS, default_size

    values: list[tuple[int, bool]] = []
    for part in (part.strip() for part in text.split(",")):
        if not part:
            continue
        count, in_server = part.removesuffix(IN_SERVER), part.endswith(IN_SERVER)
        try:
            values.append((default_size() if count == "default" else int(count), in_server))
        except ValueError:
            values = []
            break
    if not values or not all(0 <= value <= MAX_WORKERS for value, _ in values):
        raise argparse.ArgumentTypeError(
            f"a comma-separated list of 0..{MAX_WORKERS} (or 'default'), each optionally with {IN_SERVER}"
        )
    return values


def run_label(result: dict[str, Any]) -> str:
    """A run's handler processes, and where DynamoDB ran if not in a process of its own."""
    config = result["config"]
    label = pool_label(config["server_workers"])
    if config["server_workers"] != 0 and (config.get("server_env") or {}).get(DYNAMO_PROCESS_VARIABLE) == "0":
        label += " (DynamoDB in the server process)"
    return label


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=24, help="concurrent simulated agents (default 24)")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of load (default 40)")
    parser.add_argument("--max-requests", type=int, default=None, help="stop after this many requests in all")
    parser.add_argument(
        "--warm-up",
        type=float,
        default=10.0,
        help="seconds of the same load before the measured --duration (default 10; not with --kill-midway): "
        "the server starts the handler processes the load needs, as Lambda scales out, outside the "
        "figures; its requests' writes are still verified and its errors still count",
    )
    parser.add_argument(
        "--server-workers",
        type=_server_workers,
        default=None,
        help="handler processes of the server, a comma-separated list to compare in one run "
        "(e.g. 0,4; 'default' is the server's own default; a count followed by @server runs DynamoDB in the "
        "server process instead of a process of its own); default: the server's default only",
    )
    parser.add_argument(
        "--server-env",
        type=_name_value,
        action="append",
        metavar="NAME=VALUE",
        help="a setting for the server (repeatable), e.g. ENGRAM_RATE_LIMIT_ADDRESS_SCOPE=unverified",
    )
    parser.add_argument("--kill-midway", action="store_true", help="SIGKILL the server halfway and restart it")
    parser.add_argument("--kill-after", type=int, default=None, help="with --kill-midway: after this many messages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--idle-rounds", type=int, default=50, help="direct storage calls per operation when idle")
    parser.add_argument("--no-count-calls", dest="count_calls", action="store_false", help="skip counting calls")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 128 or not 1 <= args.duration <= 600:
        parser.error("--workers must be 1..128 and --duration 1..600 s")
    # Counted once, before the load runs, and shown in each run's table: a run's markdown is
    # written when the run ends, so calls counted during the first run alone never reached the
    # table of the last one, the one printed.
    storage_calls = calibrate() if args.count_calls else None
    results = []
    for server_workers, in_server in args.server_workers or [(None, False)]:
        server_env = list(args.server_env or []) + ([(DYNAMO_PROCESS_VARIABLE, "0")] if in_server else [])
        run_args = argparse.Namespace(
            **{**vars(args), "server_workers": server_workers, "server_env": server_env, "storage_calls": storage_calls}
        )
        results.append(run(run_args))
    result = results[-1]
    if len(results) > 1:
        rows = [comparison_row(r) for r in results]
        result["comparison"] = rows
        result["markdown"] = comparison_markdown(rows) + "\n\n" + result["markdown"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print()
    print(result["markdown"])
    lost = 0
    for each in results:
        lost += each["verification"]["lost"]
        if each["verification"]["problems"]:
            print(f"\nproblems ({each['config']['server_workers']} handler processes):")
            for problem in each["verification"]["problems"][:50]:
                print("  " + problem)
    print(f"\nwritten to {out}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
