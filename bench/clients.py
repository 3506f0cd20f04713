"""Client benchmarks: a 10,000-memory mem0 import into local mode, and the SDK's own cost per call.

    python -m bench.clients [--memories 10000] [--embedders hashing,local] [--batch-size 100]
                            [--calls 2000] [--out bench/results/clients.json]

Import: a synthetic mem0 ``get_all`` dump (seeded, so every run imports the same records) is written
to a temporary file and loaded with ``engram import --format mem0`` (run in this process, against
a fresh ``python -m engram.local`` server per embedder). Printed: memories/s end to end, and the
share of that time spent waiting on ``POST /v1/memories/batch`` (the rest is reading and checking
the file, and the client). A second import of the same file measures the no-duplicates path.

SDK overhead: the same GET, answered by an in-memory transport, made with ``engram_client`` and with
bare httpx (the baseline, measured in the same run); the difference is what the SDK adds per call
(building the request, retries bookkeeping, parsing the answer into its pydantic model). Then the
same pair against the live local server, where the HTTP round trip dominates.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from engram.progress import Progress
from engram.testing.server import LocalServer
from engram.transfer.formats import read
from engram.transfer.importer import Importer
from engram_client import Engram

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = ["coffee", "hiking", "Python", "jazz", "Lisbon", "sushi", "chess", "running", "Rust", "gardening"]
TEMPLATES = [
    "Prefers {s} over most alternatives",
    "Is learning {s} this year",
    "Mentioned a trip involving {s} in spring",
    "Dislikes talking about {s} before 9am",
    "Has a friend who works on {s}",
    "Wants reminders about {s} on Fridays",
]


def mem0_dump(count: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    results = []
    for i in range(count):
        subject = rng.choice(SUBJECTS)
        text = f"{rng.choice(TEMPLATES).format(s=subject)} (note {i})"
        results.append(
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "memory": text,
                "user_id": f"user-{i % 50}",
                "agent_id": None,
                "run_id": None,
                "metadata": {"seq": i},
                "categories": [subject.lower()],
                "created_at": f"2025-0{1 + i % 9}-1{i % 10}T10:00:00Z",
                "updated_at": None,
            }
        )
    return {"results": results}


def run_import(client: Engram, path: Path, batch_size: int) -> dict[str, Any]:
    with Progress("bench import", unit="records", every=30.0) as progress:
        importer = Importer(client, progress=progress, clock=time.perf_counter, batch_size=batch_size)
        started = time.perf_counter()
        report = importer.run(read(path, "mem0"))
        seconds = time.perf_counter() - started
    written = report.counts["memory created"] + report.counts["memory exists"]
    return {
        "seconds": round(seconds, 2),
        "memories_per_second": round(written / seconds, 1),
        "batch_endpoint_seconds": round(report.seconds_in_batch, 2),
        "batch_endpoint_share": round(report.seconds_in_batch / seconds, 3),
        "counts": dict(report.counts),
        "problems": len(report.problems),
    }


def bench_import(count: int, embedder: str, workdir: Path, batch_size: int) -> dict[str, Any]:
    dump = workdir / f"mem0-{count}.json"
    dump.write_text(json.dumps(mem0_dump(count)), encoding="utf-8")
    server = LocalServer(
        workdir / f"data-{embedder}", "egm_bench_clients_key_0123456789", env={"ENGRAM_EMBEDDER": embedder}, lazy=False
    )
    server.start(timeout=600)
    try:
        client = Engram(server.url, server.api_key, timeout=300)
        first = run_import(client, dump, batch_size)
        print(f"first import: {json.dumps(first)}", flush=True)  # kept even if what follows fails
        again = run_import(client, dump, batch_size)
    finally:
        stop(server)
    return {
        "embedder": embedder,
        "memories": count,
        "batch_size": batch_size,
        "first_import": first,
        "reimport": again,
    }


def stop(server: LocalServer) -> None:
    """Stop the server; one still writing its snapshot of a large import after a minute is killed."""
    try:
        server.stop()
    except subprocess.TimeoutExpired:
        assert server.process is not None
        server.process.kill()
        server.process.wait(timeout=60)


MEMORY = {
    "id": "mem_01JBZ8Q7X4N5M6P7Q8R9S0T1V2",
    "namespace": "default",
    "title": "The user prefers dark mode",
    "text": "The user prefers dark mode in every editor and terminal they use",
    "type": "preference",
    "tier": "high",
    "locked": False,
    "feedback_score": 2,
    "access_count": 7,
    "strength": 41.5,
    "entities": ["dark mode", "editor"],
    "metadata": {"origin": "onboarding"},
    "created_at": "2026-03-17T10:00:00Z",
    "updated_at": "2026-03-17T10:00:00Z",
}


def per_call_ms(call: Any, calls: int) -> float:
    for _ in range(min(100, calls)):  # warm up
        call()
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls // 5):
            call()
        samples.append((time.perf_counter() - started) * 1000 / (calls // 5))
    return statistics.median(samples)


def bench_sdk(calls: int, live: LocalServer | None) -> dict[str, Any]:
    body = json.dumps(MEMORY).encode()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"content-type": "application/json"})
    )
    sdk = Engram("http://engram.bench", "egm_key", transport=transport)
    raw = httpx.Client(base_url="http://engram.bench", headers={"Authorization": "Bearer egm_key"}, transport=transport)
    path = f"/v1/memories/{MEMORY['id']}"
    sdk_ms = per_call_ms(lambda: sdk.memories.get(MEMORY["id"]), calls)
    raw_ms = per_call_ms(lambda: raw.get(path).json(), calls)
    out: dict[str, Any] = {
        "in_memory_transport": {
            "sdk_ms_per_call": round(sdk_ms, 4),
            "bare_httpx_ms_per_call": round(raw_ms, 4),
            "sdk_overhead_ms": round(sdk_ms - raw_ms, 4),
            "calls": calls,
        }
    }
    if live is not None:
        client = Engram(live.url, live.api_key)
        memory = client.memories.create("The user prefers dark mode in every editor", type="preference")
        bare = httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {live.api_key}"})
        n = max(50, calls // 20)
        live_sdk = per_call_ms(lambda: client.memories.get(memory.id), n)
        live_raw = per_call_ms(lambda: bare.get(f"/v1/memories/{memory.id}").json(), n)
        out["local_server"] = {
            "sdk_ms_per_call": round(live_sdk, 3),
            "bare_httpx_ms_per_call": round(live_raw, 3),
            "difference_ms": round(live_sdk - live_raw, 3),
            "calls": n,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--embedders", default="hashing,local", help="comma-separated: hashing, local")
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=100, help="memories per batch request (at most 100)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "clients.json"))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results["import"] = [
            bench_import(args.memories, e.strip(), workdir, args.batch_size) for e in args.embedders.split(",") if e
        ]
        live = LocalServer(workdir / "data-sdk", "egm_bench_sdk_key_0123456789", lazy=False).start(timeout=600)
        try:
            results["sdk"] = bench_sdk(args.calls, live)
        finally:
            stop(live)
    for run in results["import"]:
        first, again = run["first_import"], run["reimport"]
        print(
            f"import {run['memories']} mem0 memories ({run['embedder']} embedder): "
            f"{first['memories_per_second']} memories/s, "
            f"{first['seconds']} s, batch endpoint {first['batch_endpoint_share']:.0%} of the time; "
            f"re-import {again['memories_per_second']} memories/s ({again['counts'].get('memory exists', 0)} existing)"
        )
    mem = results["sdk"]["in_memory_transport"]
    print(
        f"SDK overhead per call: {mem['sdk_overhead_ms']} ms (SDK {mem['sdk_ms_per_call']} ms vs bare httpx "
        f"{mem['bare_httpx_ms_per_call']} ms, in-memory transport)"
    )
    if "local_server" in results["sdk"]:
        live_r = results["sdk"]["local_server"]
        print(
            f"against the local server: SDK {live_r['sdk_ms_per_call']} ms vs bare httpx "
            f"{live_r['bare_httpx_ms_per_call']} ms per GET"
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
