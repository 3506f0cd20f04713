"""Cold-start benchmark: import time and first invocation of every function in template.yaml.

Run from the repository root (``make bench-coldstart``)::

    python -m bench.coldstart [--repeat 5] [--only name ...] [--importtime] [--out bench/results/coldstart.json]

For every ``AWS::Serverless::Function`` (HTTP and background) and for the FLOOR handler
(``bench/floor/app.py``: Powertools Logger + APIGatewayHttpResolver, boto3, pydantic and one
DynamoDB GetItem), a FRESH interpreter (one subprocess per measurement) imports
``functions/<name>/app.py`` and invokes ``lambda_handler`` once with ``events/<name>.json``,
against DynamoDB served by ``moto_server`` in a separate process (tables created from
template.yaml). Each measurement is repeated ``--repeat`` times; the table shows medians.
Interpreter start-up itself is not counted (it is the same for every function). A function whose
import is above 1.5x the floor's is flagged. ``--importtime`` also runs ``python -X importtime``
once per function and prints the packages that cost the most (cumulative, first import wins).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from engram.testing.tables import create_tables, load_template

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "floor"
FLAG_RATIO = 1.5

# The child: import the handler file, invoke it once with the sample event, print the timings.
CHILD = r"""
import importlib.util, json, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("coldstart_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
t1 = time.perf_counter()
event = json.load(open(sys.argv[2]))

class Context:
    function_name = "coldstart"; function_version = "$LATEST"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:coldstart"
    aws_request_id = "00000000-0000-0000-0000-000000000000"; log_group_name = "/aws/lambda/coldstart"
    log_stream_name = "coldstart"
    def get_remaining_time_in_millis(self): return 15000

t2 = time.perf_counter()
try:
    result = module.lambda_handler(event, Context())
except Exception as exc:  # the timing still counts; the table shows what went wrong
    result = {"statusCode": "raised " + type(exc).__name__}
t3 = time.perf_counter()
status = result.get("statusCode") if isinstance(result, dict) else None
if status is None and isinstance(result, dict) and "isAuthorized" in result:
    status = "authorized" if result["isAuthorized"] else "denied"
if status is None and isinstance(result, dict) and "batchItemFailures" in result:
    status = f"{len(result['batchItemFailures'])} failed"
print("COLDSTART " + json.dumps({"import_ms": (t1 - t0) * 1000, "invoke_ms": (t3 - t2) * 1000,
                                  "status": status, "modules": len(sys.modules)}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def functions(template: dict[str, Any]) -> list[str]:
    names = []
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            names.append(str(resource["Properties"]["CodeUri"]).rstrip("/").split("/")[-1])
    return sorted(names)


def handler_path(name: str) -> Path:
    return ROOT / "bench" / "floor" / "app.py" if name == FLOOR else ROOT / "functions" / name / "app.py"


def event_path(name: str) -> Path:
    return ROOT / "events" / f"{'get_session' if name == FLOOR else name}.json"


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
        self.process = subprocess.Popen(  # a separate process, as DynamoDB is for a Lambda
            [exe, "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def child_env(moto_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGRAM_", "AWS_", "POWERTOOLS_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_SERVICE_NAME": "engram",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_NAMESPACE": "Engram",
            "ENGRAM_LOG_LEVEL": "WARNING",
            "ENGRAM_EMBEDDER": "hashing",  # no Bedrock here; the bedrock adapter is lazy anyway
            "ENGRAM_INDEX_BACKEND": "local",  # no OpenSearch here
            "ENGRAM_DATA_DIR": str(data_dir),
            "PYTHONDONTWRITEBYTECODE": "0",
        }
    )
    return env


def measure(name: str, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="engram-coldstart-") as data_dir:  # a fresh local index each time
        return _measure(name, {**env, "ENGRAM_DATA_DIR": data_dir})


def _measure(name: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(handler_path(name)), str(event_path(name))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for line in out.stdout.splitlines():
        if line.startswith("COLDSTART "):
            return dict(json.loads(line.removeprefix("COLDSTART ")))
    raise RuntimeError(f"{name}: no measurement (exit {out.returncode}): {out.stderr[-2000:]}")


def importtime(name: str, env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """Top-level packages by their modules' own (self) import time, in ms, importing the handler file."""
    code = (
        "import importlib.util, sys; s = importlib.util.spec_from_file_location('coldstart_app', sys.argv[1]); "
        "m = importlib.util.module_from_spec(s); sys.modules[s.name] = m; s.loader.exec_module(m)"
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, str(handler_path(name))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():  # "import time: self [us] | cumulative | imported package"
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _, module = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = module.split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def render(rows: list[dict[str, Any]], floor: dict[str, Any], repeat: int) -> str:
    lines = [
        f"Cold start, median of {repeat} fresh interpreters (Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; DynamoDB = moto_server in another process)",
        "",
        "| function | import ms | first-invoke ms | import / floor | total / floor | status | flag |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    floor_total = floor["import_ms"] + floor["invoke_ms"]
    for row in [floor, *rows]:
        total = row["import_ms"] + row["invoke_ms"]
        ratio = row["import_ms"] / floor["import_ms"]
        flag = "**> 1.5x floor**" if row["name"] != FLOOR and ratio > FLAG_RATIO else ""
        lines.append(
            f"| {row['name'] + (' (FLOOR)' if row['name'] == FLOOR else '')} | {row['import_ms']:.0f} | "
            f"{row['invoke_ms']:.0f} | {ratio:.2f} | {total / floor_total:.2f} | {row['status']} | {flag} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="only these functions (the floor always runs)")
    parser.add_argument("--importtime", action="store_true", help="also break imports down with -X importtime")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "coldstart.json")
    args = parser.parse_args(argv)

    template = load_template()
    names = [n for n in functions(template) if not args.only or n in args.only]
    missing = [n for n in names if not handler_path(n).is_file() or not event_path(n).is_file()]
    names = [n for n in names if n not in missing]
    moto = MotoServer()
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=moto.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        create_tables(client, template)
        with tempfile.TemporaryDirectory(prefix="engram-coldstart-") as tmp:
            env = child_env(moto.url, Path(tmp))
            samples: dict[str, list[dict[str, Any]]] = {n: [] for n in [FLOOR, *names]}
            for round_ in range(args.repeat):  # interleaved, so drift in machine load hits everyone alike
                for name in samples:
                    samples[name].append(measure(name, env))
                print(f"round {round_ + 1}/{args.repeat} done", file=sys.stderr)
            rows = []
            for name, runs in samples.items():
                rows.append(
                    {
                        "name": name,
                        "import_ms": statistics.median(r["import_ms"] for r in runs),
                        "invoke_ms": statistics.median(r["invoke_ms"] for r in runs),
                        "modules": runs[0]["modules"],
                        "status": runs[-1]["status"],
                        "samples": runs,
                    }
                )
            floor, others = rows[0], sorted(rows[1:], key=lambda r: -r["import_ms"])
            print(render(others, floor, args.repeat))
            breakdown: dict[str, list[tuple[str, float]]] = {}
            if args.importtime:
                flagged = [r["name"] for r in others if r["import_ms"] / floor["import_ms"] > FLAG_RATIO]
                for name in [FLOOR, *(flagged or [r["name"] for r in others[:3]])]:
                    breakdown[name] = importtime(name, env)
                    print(f"\n{name}: " + ", ".join(f"{pkg} {ms:.0f} ms" for pkg, ms in breakdown[name]))
    finally:
        moto.stop()
    if missing:
        print(f"\nnot measured (no functions/<name>/app.py or events/<name>.json): {', '.join(missing)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "repeat": args.repeat,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "flag_ratio": FLAG_RATIO,
                "floor": floor,
                "functions": others,
                "flagged": [r["name"] for r in others if r["import_ms"] / floor["import_ms"] > FLAG_RATIO],
                "importtime_top": breakdown,
                "not_measured": missing,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
