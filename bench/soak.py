"""Soak benchmark: the local server under a mixed load for a bounded time, its memory sampled beside
the data it holds, then how long a SIGTERM takes.

    python -m bench.soak [--seconds 180] [--agents 8] [--interval 5] [--server-workers N]
                         [--mix mixed|read] [--out bench/results/soak.json]

Agents play sessions (start, turns, appended messages of 1-30 KB, memories, searches, reads, an end
with extraction) against ``python -m engram.local`` (hashing embedder, fresh data directory); with
``--mix read`` each agent writes one session (a few messages and memories) and then only reads:
the session, its messages, the memory list and searches (a search still logs its access). Every
``--interval`` seconds the resident memory (RSS) of the server process and of its handler processes
is sampled, with what the server holds: items per table (DynamoDB's ``ItemCount``) and the data
directory's size on disk. The verdict compares RSS at the end of the warm-up (the first quarter by
default) with RSS at the end: flat means within 20 % while the data keeps growing.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.load import API_KEY, TOPICS, pct
from bench.report import machine

ROOT = Path(__file__).resolve().parents[1]
FLAT = 0.20
TABLES = ("SESSIONS", "MESSAGES", "MEMORIES")


class Traffic:
    """Counts of what the agents did (only acknowledged requests count as stored)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.message_bytes = 0
        self.latencies: list[float] = []

    def record(self, ms: float, ok: bool, message_bytes: int = 0) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.append(ms)
            if ok:
                self.message_bytes += message_bytes
            else:
                self.errors += 1


class Agent(threading.Thread):
    def __init__(
        self, number: int, url: str, traffic: Traffic, stop: threading.Event, seed: int, mix: str = "mixed"
    ) -> None:
        super().__init__(name=f"soak-agent-{number}", daemon=True)
        self.mix = mix
        self.url = url
        self.traffic = traffic
        self.stop_event = stop
        self.rng = random.Random(seed * 1000 + number)
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
        self.number = number

    def call(self, method: str, path: str, body: Any = None, message_bytes: int = 0) -> Any:
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.url + path, data=json.dumps(body) if body else None, timeout=120)
        except requests.RequestException:
            self.traffic.record((time.perf_counter() - started) * 1000, False)
            return None
        ok = response.status_code < 300
        self.traffic.record((time.perf_counter() - started) * 1000, ok, message_bytes if ok else 0)
        return response.json() if ok and response.content else None

    def text(self, size: int) -> str:
        topic, fact = self.rng.choice(TOPICS)
        words = f"{fact}. Note {self.rng.randint(0, 10**6)} about {topic}. "
        return (words * (size // len(words) + 1))[:size]

    def run(self) -> None:
        if self.mix == "read":
            self.read_only()
            return
        while not self.stop_event.is_set():
            started = self.call("POST", "/v1/sessions/start", {"firstMessage": self.text(200)})
            if not started:
                self.stop_event.wait(0.5)
                continue
            session = started["session_id"]
            turns = 0
            for _ in range(self.rng.randint(3, 8)):
                if self.stop_event.is_set():
                    return
                op = self.rng.choices(["turn", "messages", "memory", "search", "read"], [30, 25, 10, 20, 15])[0]
                if op == "turn":
                    turns += 1
                    pair = [self.text(self.rng.randint(500, 4000)), self.text(self.rng.randint(500, 4000))]
                    body = {
                        "turnNumber": turns,
                        "messages": [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}],
                    }
                    self.call("POST", f"/v1/sessions/{session}/turn", body, sum(map(len, pair)))
                elif op == "messages":
                    size = 30_000 if self.rng.random() < 0.15 else self.rng.randint(1000, 8000)
                    content = self.text(size)
                    self.call("POST", f"/v1/sessions/{session}/messages", {"role": "user", "content": content}, size)
                elif op == "memory":
                    self.call(
                        "POST", "/v1/memories", {"text": self.text(self.rng.randint(80, 400)), "sessionId": session}
                    )
                elif op == "search":
                    self.call("POST", "/v1/memories/search", {"query": self.rng.choice(TOPICS)[1], "topK": 5})
                else:
                    self.call("GET", f"/v1/sessions/{session}/messages?limit=20")
            outcome = self.rng.choice(["success", "partial", "failure"])
            self.call("POST", f"/v1/sessions/{session}/end", {"outcome": outcome, "extractMemories": True})

    def read_only(self) -> None:
        """One session written (messages, memories), then reads of it until the end."""
        session = None
        while session is None:
            if self.stop_event.is_set():
                return
            started = self.call("POST", "/v1/sessions/start", {"firstMessage": self.text(200)})
            session = started["session_id"] if started else None
            if session is None:
                self.stop_event.wait(0.5)
        for _ in range(4):
            size = self.rng.randint(1000, 8000)
            self.call("POST", f"/v1/sessions/{session}/messages", {"role": "user", "content": self.text(size)}, size)
        for _ in range(3):
            self.call("POST", "/v1/memories", {"text": self.text(self.rng.randint(80, 400)), "sessionId": session})
        while not self.stop_event.is_set():
            op = self.rng.choice(["session", "messages", "memories", "search"])
            if op == "session":
                self.call("GET", f"/v1/sessions/{session}")
            elif op == "messages":
                self.call("GET", f"/v1/sessions/{session}/messages?limit=20")
            elif op == "memories":
                self.call("GET", "/v1/memories?limit=20")
            else:
                self.call("POST", "/v1/memories/search", {"query": self.rng.choice(TOPICS)[1], "topK": 5})


def _tables(data_dir: Path) -> tuple[Any, dict[str, str]]:
    import boto3

    env = json.loads((data_dir / "runtime.json").read_text())["env"]
    client = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=env.get("AWS_REGION", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    return client, {name: env[f"ENGRAM_{name}_TABLE"] for name in TABLES}


def _disk_bytes(path: Path) -> int:
    total = 0
    for file in path.rglob("*"):
        try:
            if file.is_file():
                total += file.stat().st_size
        except OSError:
            continue
    return total


def sample(process: psutil.Process, data_dir: Path, client: Any, tables: dict[str, str]) -> dict[str, Any]:
    workers = process.children(recursive=True)
    worker_rss = []
    for child in workers:
        try:
            worker_rss.append(child.memory_info().rss)
        except psutil.Error:
            continue
    items = {}
    for name, table in tables.items():
        try:
            items[name.lower()] = int(client.describe_table(TableName=table)["Table"].get("ItemCount", 0))
        except Exception:  # a sample may miss a count under load; the next one has it
            items[name.lower()] = None
    return {
        "server_rss_mb": round(process.memory_info().rss / 2**20, 1),
        "handlers_rss_mb": round(sum(worker_rss) / 2**20, 1),
        "handlers": len(worker_rss),
        "items": items,
        "data_mb": round(_disk_bytes(data_dir) / 2**20, 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engram.testing.server import LocalServer

    tmp = Path(tempfile.mkdtemp(prefix="engram-soak-"))
    data_dir = tmp / "data"
    env = {"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000", "ENGRAM_EMBEDDER": "hashing", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    if args.server_workers is None:
        server = LocalServer(data_dir, API_KEY, env=env, lazy=False)
    else:
        server = LocalServer(data_dir, API_KEY, env=env, lazy=False, args=["--workers", str(args.server_workers)])
    server.log = tmp / "server.log"
    try:
        server.start(timeout=300)
        assert server.process is not None
        process = psutil.Process(server.process.pid)
        client, tables = _tables(data_dir)
        traffic = Traffic()
        stop = threading.Event()
        agents = [Agent(i, server.url, traffic, stop, args.seed, args.mix) for i in range(args.agents)]
        started = time.monotonic()
        samples = [{"t_s": 0.0, "requests": 0, "message_mb": 0.0, **sample(process, data_dir, client, tables)}]
        print(f"soak: {args.agents} agents ({args.mix}) for {args.duration:.0f} s against {server.url}", flush=True)
        for agent in agents:
            agent.start()
        while (elapsed := time.monotonic() - started) < args.duration:
            time.sleep(min(args.interval, max(0.0, args.duration - elapsed)))
            with traffic.lock:
                requests_so_far, message_mb = traffic.requests, traffic.message_bytes / 2**20
            row = {
                "t_s": round(time.monotonic() - started, 1),
                "requests": requests_so_far,
                "message_mb": round(message_mb, 2),
            }
            row.update(sample(process, data_dir, client, tables))
            samples.append(row)
            print(
                f"  {row['t_s']:6.0f} s  {row['requests']:6d} requests  server {row['server_rss_mb']:7.1f} MB  "
                f"handlers {row['handlers_rss_mb']:7.1f} MB  items {row['items']}  data {row['data_mb']:.1f} MB",
                flush=True,
            )
        stop.set()
        for agent in agents:
            agent.join(timeout=150)
        elapsed = time.monotonic() - started
        last = sample(process, data_dir, client, tables)
        stop_started = time.monotonic()
        code = server.stop(signal.SIGTERM)
        shutdown_s = time.monotonic() - stop_started
    finally:
        if server.process is not None:
            server.stop(signal.SIGKILL)
        log_tail = server.log.read_text(errors="replace")[-3000:] if server.log.exists() else ""
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return summarize(args, samples, last, traffic, elapsed, shutdown_s, code, log_tail)


def summarize(
    args: argparse.Namespace,
    samples: list[dict[str, Any]],
    last: dict[str, Any],
    traffic: Traffic,
    elapsed: float,
    shutdown_s: float,
    exit_code: int,
    log_tail: str,
) -> dict[str, Any]:
    warm = next((s for s in samples if s["t_s"] >= args.duration * args.warmup), samples[-1])
    end = samples[-1]

    def total(row: dict[str, Any]) -> float:
        return float(row["server_rss_mb"] + row["handlers_rss_mb"])

    def items(row: dict[str, Any]) -> int:
        return sum(v or 0 for v in row["items"].values())

    growth = {
        "server": (end["server_rss_mb"] - warm["server_rss_mb"]) / max(1.0, warm["server_rss_mb"]),
        "total": (total(end) - total(warm)) / max(1.0, total(warm)),
    }
    result = {
        "benchmark": "soak",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "config": {
            "duration_s": args.duration,
            "agents": args.agents,
            "interval_s": args.interval,
            "warmup_fraction": args.warmup,
            "server_workers": args.server_workers,
            "mix": getattr(args, "mix", "mixed"),
            "embedder": "hashing",
        },
        "elapsed_s": round(elapsed, 1),
        "requests": traffic.requests,
        "errors": traffic.errors,
        "throughput_rps": round(traffic.requests / max(elapsed, 1e-9), 2),
        "latency_ms": {"p50": round(pct(traffic.latencies, 50), 1), "p95": round(pct(traffic.latencies, 95), 1)},
        "samples": samples,
        "before_stop": last,
        "after_warmup": {"t_s": warm["t_s"], "rss_mb": total(warm), "items": items(warm), "data_mb": warm["data_mb"]},
        "at_end": {"t_s": end["t_s"], "rss_mb": total(end), "items": items(end), "data_mb": end["data_mb"]},
        "rss_growth_after_warmup": {k: round(v, 3) for k, v in growth.items()},
        "data_growth_after_warmup": round(items(end) / max(1, items(warm)), 2),
        "flat": abs(growth["total"]) <= FLAT,
        "shutdown_s": round(shutdown_s, 2),
        "exit_code": exit_code,
    }
    if traffic.errors or exit_code:
        result["server_log_tail"] = log_tail
    result["markdown"] = markdown(result)
    return result


def markdown(result: dict[str, Any]) -> str:
    cfg = result["config"]
    lines = [
        f"Soak: {cfg['agents']} agents ({cfg['mix']} load), {result['elapsed_s']:.0f} s, {result['requests']} requests "
        f"({result['throughput_rps']:.1f} req/s, p50 {result['latency_ms']['p50']:.0f} ms, p95 "
        f"{result['latency_ms']['p95']:.0f} ms, {result['errors']} errors)",
        "",
        "| t s | requests | message MB sent | server RSS MB | handler processes RSS MB | sessions | messages | "
        "memories | data on disk MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["samples"]:
        it = row["items"]
        lines.append(
            f"| {row['t_s']:.0f} | {row['requests']} | {row['message_mb']:.1f} | {row['server_rss_mb']:.1f} | "
            f"{row['handlers_rss_mb']:.1f} ({row['handlers']}) | {it.get('sessions')} | {it.get('messages')} | "
            f"{it.get('memories')} | {row['data_mb']:.1f} |"
        )
    warm, end = result["after_warmup"], result["at_end"]
    growth = result["rss_growth_after_warmup"]
    lines += [
        "",
        f"After warm-up ({warm['t_s']:.0f} s) to the end ({end['t_s']:.0f} s): "
        f"items x{result['data_growth_after_warmup']:.2f} "
        f"({warm['items']} → {end['items']}), data on disk {warm['data_mb']:.1f} → {end['data_mb']:.1f} MB; RSS (all "
        f"processes) {warm['rss_mb']:.0f} → {end['rss_mb']:.0f} MB ({growth['total']:+.0%}; server process "
        f"{growth['server']:+.0%}): **{'flat' if result['flat'] else 'NOT flat'}** (target within ±{FLAT:.0%}).",
        f"SIGTERM to exit: {result['shutdown_s']:.1f} s (exit status {result['exit_code']}).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", "--duration", dest="duration", type=float, default=180.0, help="seconds of load (default 180)"
    )
    parser.add_argument("--agents", type=int, default=8, help="concurrent simulated agents (default 8)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--warmup", type=float, default=0.25, help="fraction of the run that is warm-up (default 0.25)")
    parser.add_argument("--server-workers", type=int, default=None, help="handler processes (default: the server's)")
    parser.add_argument(
        "--mix", choices=("mixed", "read"), default="mixed", help="mixed traffic, or reads after one session each"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "soak.json"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
    if not 10 <= args.duration <= 86400 or not 1 <= args.agents <= 128 or not 0 < args.warmup < 1:
        parser.error("--seconds must be 10..86400, --agents 1..128, --warmup between 0 and 1")
    result = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print()
    print(result["markdown"])
    print(f"\nwritten to {out}")
    return 0 if result["flat"] and not result["exit_code"] else 1


if __name__ == "__main__":
    sys.exit(main())
