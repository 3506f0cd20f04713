"""Fuzzing against the live local server: schemathesis with every check, and Engram's body classes.

Shared by the bounded pytest run (``tests/fuzz/test_schemathesis.py``, inside ``make test``) and the
long run (``make fuzz`` → ``python -m tests.fuzz.runner --examples 200``).

1. **schemathesis**, as its CLI runs it (``st run``): every operation of the served document, all
   four phases (examples, coverage, fuzzing, stateful: the OpenAPI links chain created ids into
   the operations that use them), positive and negative data, ``--checks all`` (no 5xx, status
   codes, content types, headers and bodies as documented, schema-valid data accepted and
   schema-invalid data refused, undeclared methods answer 405, auth not ignored, deleted resources
   gone, created ones there) plus Engram's error-shape check. Hooks and configuration:
   ``tests/fuzz/hooks.py`` (real ids, real cursors) and ``tests/fuzz/schemathesis.toml``.
2. **body classes** schemathesis does not send: every body operation gets media types other than
   JSON (415), spellings of ``application/json`` and no Content-Type (read as JSON), a JSON array or
   scalar instead of an object (422), and NaN/Infinity/overflowing numbers anywhere (400).

Every failure of either part fails the run, except ``TRACE``/``CONNECT``: the local gateway answers
those itself (an HTML 501; issue 9 item 9, branch ``local``), they are reported apart.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from engram.testing.server import ROOT
from tests.fuzz import live
from tests.fuzz.resources import Live
from tests.fuzz.shape import error_shape_problem

FUZZ_KEY = "egm_fuzz_local_key_0123456789abcdef"
GATEWAY_METHODS = {"TRACE", "CONNECT"}  # answered by the local gateway itself, before any route
CONFIG = Path(__file__).with_name("schemathesis.toml")
ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")


# ------------------------------------------------------------------------------------------
# Results


@dataclass
class Finding:
    part: str  # "schemathesis" or "bodies"
    code: str
    title: str
    operations: list[str]
    count: int = 1
    example: str = ""


@dataclass
class Report:
    schemathesis_statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    schemathesis_cases: int = 0
    schemathesis_phases: dict[str, str] = field(default_factory=dict)
    body_cases: Counter[str] = field(default_factory=Counter)
    body_statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[Finding] = field(default_factory=list)
    gateway_only: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    cli_output: str = ""

    @property
    def total(self) -> int:
        return self.schemathesis_cases + sum(self.body_cases.values())

    def summary(self) -> str:
        phases = ", ".join(f"{k}: {v}" for k, v in self.schemathesis_phases.items())
        lines = [
            f"fuzz: {self.total} cases in {self.seconds:.0f}s",
            f"  schemathesis (--checks all, positive + negative): {self.schemathesis_cases} cases; {phases}",
        ]
        for op in sorted(self.schemathesis_statuses):
            codes = " ".join(f"{c}x{n}" for c, n in sorted(self.schemathesis_statuses[op].items()))
            lines.append(f"    {op:<60} {sum(self.schemathesis_statuses[op].values()):>5}  {codes}")
        lines.append(f"  body classes: {sum(self.body_cases.values())} cases")
        for label in sorted(self.body_cases):
            codes = " ".join(f"{c}x{n}" for c, n in sorted(self.body_statuses[label].items()))
            lines.append(f"    {label:<60} {self.body_cases[label]:>4}  {codes}")
        for title, findings in (("FAILURES", self.failures), ("gateway-only (TRACE/CONNECT)", self.gateway_only)):
            lines.append(f"{title}: {len(findings)}")
            for f in findings:
                ops = ", ".join(f.operations[:6]) + (f" … (+{len(f.operations) - 6})" if len(f.operations) > 6 else "")
                lines.append(f"  [{f.part} {f.code}] {f.title} x{f.count}: {ops}")
                if f.example:
                    lines.append(f"      {f.example[:400]}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "seconds": round(self.seconds, 1),
            "schemathesis_cases": self.schemathesis_cases,
            "schemathesis_phases": self.schemathesis_phases,
            "schemathesis_statuses": {op: dict(c) for op, c in self.schemathesis_statuses.items()},
            "body_cases": dict(self.body_cases),
            "failures": [vars(f) for f in self.failures],
            "gateway_only": [vars(f) for f in self.gateway_only],
        }


# ------------------------------------------------------------------------------------------
# 1. schemathesis


def run_schemathesis(
    base_url: str, api_key: str, examples: int, seed: int, phases: tuple[str, ...], report: Report
) -> None:
    with tempfile.TemporaryDirectory(prefix="engram-st-") as tmp:
        json_report, status_log = Path(tmp) / "run.json", Path(tmp) / "statuses.tsv"
        command = [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base_url}/v1/openapi.json",
            "--checks",
            "all",
            # `all` brings a 10 s response-time limit; tests never assert on wall time (a route's first
            # call imports its function, POST /mcp the MCP SDK, on a busy machine), so the limit is set
            # beyond the request timeout: a request that never answers is still a failure.
            "--max-response-time",
            "600",
            "--mode",
            "all",
            "--phases",
            ",".join(phases),
            "--max-examples",
            str(examples),
            "--seed",
            str(seed),
            "--workers",
            "1",
            "--request-timeout",
            "120",
            "--header",
            f"Authorization: Bearer {api_key}",
            "--generation-database",
            "none",
            "--report",
            "json",
            "--report-json-path",
            str(json_report),
            "--no-color",
        ]
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
            "ENGRAM_FUZZ_URL": base_url,
            "ENGRAM_FUZZ_KEY": api_key,
            "ENGRAM_FUZZ_STATUS_LOG": str(status_log),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        report.cli_output = done.stdout + done.stderr
        if not json_report.exists():
            report.failures.append(
                Finding("schemathesis", "run", "schemathesis did not finish", [], 1, report.cli_output[-2000:])
            )
            return
        result = json.loads(json_report.read_text())
        if status_log.exists():
            for line in status_log.read_text().splitlines():
                operation, _, status = line.rpartition("\t")
                report.schemathesis_statuses[operation][int(status)] += 1
    report.schemathesis_cases = int(result["test_cases"]["generated"])
    report.schemathesis_phases = {name: str(phase["status"]) for name, phase in result["phases"].items()}
    for failure in result.get("failures", []):
        operations = [str(op) for op in failure.get("operations", [])]
        on_gateway = [op for op in operations if op.split(" ", 1)[0] in GATEWAY_METHODS]
        rest = [op for op in operations if op not in on_gateway]
        title = f"{failure.get('title')}"
        if on_gateway:
            report.gateway_only.append(
                Finding("schemathesis", str(failure.get("code")), title, on_gateway, len(on_gateway))
            )
        if rest:
            example = _cli_example(report.cli_output, title)
            report.failures.append(Finding("schemathesis", str(failure.get("code")), title, rest, len(rest), example))
    for error in result.get("errors", []):
        report.failures.append(Finding("schemathesis", "error", str(error)[:200], [], 1))


def _cli_example(output: str, title: str) -> str:
    """The reproduction the CLI printed under a failure title: its status line and every curl of it.

    A stateful failure is a chain of requests; the one that failed is the last curl, so all are kept.
    """
    lines = output.splitlines()
    for n, line in enumerate(lines):
        if title in line:
            block = lines[n : n + 60]
            ends = [i for i, b in enumerate(block) if b.strip().startswith("st replay")]
            block = block[: ends[0]] if ends else block
            status = next((b.strip() for b in block if b.strip().startswith("[") and "]" in b), "")
            curls = [b.strip() for b in block if b.strip().startswith("curl ")]
            if curls:
                return "\n".join([status, *curls] if status else curls)
    return ""


# ------------------------------------------------------------------------------------------
# 2. body classes


NON_JSON_TYPES = st.sampled_from(
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "text/html",
        "application/xml",
        "text/xml",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=engram",
        "application/json-patch+json",
        "application/jsonl",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
    ]
) | st.from_regex(r"\A(text|image|audio|video|font|model|message)/[a-z][a-z0-9.+-]{0,14}\Z")
JSON_TYPES = st.tuples(
    st.sampled_from(["application/json", "application/json; charset=utf-8", "application/json;charset=UTF8"]),
    st.lists(st.booleans(), min_size=40, max_size=40),
).map(lambda t: "".join(c.upper() if up else c for c, up in zip(t[0], t[1], strict=False))) | st.just(None)
NON_FINITE = st.sampled_from(["NaN", "Infinity", "-Infinity"]) | st.tuples(
    st.sampled_from(["", "-"]), st.sampled_from(["1", "9.5", "1.0"]), st.integers(309, 5000)
).map(lambda t: f"{t[0]}{t[1]}e{t[2]}")
SCALARS = st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()


def _insert(value: Any, marker: str, path: list[int]) -> Any:
    """Put the marker string somewhere in a JSON value (path: choices at each level)."""
    choice = path[0] if path else 0
    if isinstance(value, dict):
        keys = sorted(value)
        if not keys or choice % (len(keys) + 1) == len(keys):
            return {**value, f"x{choice}": marker}
        key = keys[choice % len(keys)]
        return {**value, key: _insert(value[key], marker, path[1:])}
    if isinstance(value, list):
        if not value or choice % (len(value) + 1) == len(value):
            return [*value, marker]
        i = choice % len(value)
        return [*value[:i], _insert(value[i], marker, path[1:]), *value[i + 1 :]]
    return marker


class BodyFuzzer:
    def __init__(self, base_url: str, api_key: str, report: Report) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"
        self.report = report
        self.wrong: dict[tuple[str, str], Finding] = {}
        self.live = Live(base_url, api_key)

    def send(self, label: str, case: Any, body: bytes | None, content_type: str | None) -> requests.Response:
        headers = {"Content-Type": content_type} if content_type is not None else {}
        url = self.base_url + case.formatted_path
        reply = self.http.request(case.method, url, data=body, headers=headers, timeout=60)
        self.report.body_cases[label] += 1
        self.report.body_statuses[label][reply.status_code] += 1
        return reply

    def expect(self, klass: str, label: str, reply: requests.Response, ok: bool, what: str, sent: str) -> None:
        problem = error_shape_problem(reply.status_code, reply.headers.get("content-type", ""), reply.content, "")
        if not ok or problem is not None:
            self.flag(klass, label, problem or f"expected {what}", f"{sent} -> {reply.status_code} {reply.text[:200]}")

    def flag(self, klass: str, label: str, title: str, detail: str) -> None:
        key = (klass, label)
        if key in self.wrong:
            self.wrong[key].count += 1
        else:
            self.wrong[key] = Finding("bodies", klass, title, [label], 1, detail)

    def operation(self, operation: Any, examples: int) -> None:
        from schemathesis import GenerationMode

        label = f"{operation.method.upper()} {operation.path}"
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=strategy,
            non_json=NON_JSON_TYPES,
            json_type=JSON_TYPES,
            scalar=SCALARS,
            wrap=st.booleans(),
            number=NON_FINITE,
            where=st.lists(st.integers(0, 50), min_size=1, max_size=6),
            pick=st.integers(0, 20),
        )
        def run(
            case: Any,
            non_json: str,
            json_type: str | None,
            scalar: Any,
            wrap: bool,
            number: str,
            where: list[int],
            pick: int,
        ) -> None:
            if "id" in (case.path_parameters or {}):  # mostly a live id, so JSON reaches the handler
                choices = [*self.live.choices(operation.path), case.path_parameters["id"]]
                case.path_parameters["id"] = choices[pick % len(choices)]
            body = case.body if isinstance(case.body, dict) else {}
            valid = json.dumps(body).encode()
            reply = self.send(f"non-JSON media type  {label}", case, valid, non_json)
            self.expect("415", label, reply, reply.status_code == 415, "415", f"Content-Type {non_json!r}")
            reply = self.send(f"JSON media type spellings  {label}", case, valid, json_type)
            fine = reply.status_code < 500 and reply.status_code != 415
            self.expect("json-read", label, reply, fine, "read as JSON", f"Content-Type {json_type!r}")
            if reply.status_code < 300 and operation.path.endswith(("/end", "/close")):
                self.live.spent(operation.path, str(case.path_parameters["id"]))
            not_object = json.dumps([body, body] if wrap else scalar).encode()
            reply = self.send(f"array or scalar body  {label}", case, not_object, "application/json")
            self.expect("422", label, reply, reply.status_code == 422, "422", not_object.decode()[:100])
            marked = json.dumps(_insert(body, "@@NUMBER@@", where)).replace('"@@NUMBER@@"', number).encode()
            reply = self.send(f"non-finite number anywhere  {label}", case, marked, "application/json")
            self.expect("400", label, reply, reply.status_code == 400, "400", marked.decode()[:200])

        with contextlib.suppress(Unsatisfiable):
            run()

    def pages(self, examples: int) -> None:
        """The routes the OpenAPI document leaves out (engram.api.docs.PAGES: /docs, /ui), which
        schemathesis never sees: with any query and any body, GET answers the page and every other
        method is a 405 with ``Allow`` in the error shape."""
        from engram.api.docs import PAGES

        for path, methods in PAGES.items():
            self.page(path, ", ".join(sorted(m.upper() for m in methods)), examples)

    def page(self, path: str, allowed: str, examples: int) -> None:
        """One page: GET answers it; the other methods are 405 (a few cases each, pages are cheap)."""

        @settings(max_examples=max(10, 5 * examples), deadline=None, database=None, derandomize=True)
        @given(
            method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
            query=st.dictionaries(st.text(max_size=8), st.text(max_size=16), max_size=3),
            content_type=NON_JSON_TYPES | JSON_TYPES,
            body=st.binary(max_size=64) | st.just(b"[1, NaN]") | st.none(),
        )
        def run(method: str, query: dict[str, str], content_type: str | None, body: bytes | None) -> None:
            label = f"undocumented page  {method} {path}"
            headers = {"Content-Type": content_type} if content_type is not None else {}
            reply = self.http.request(
                method, self.base_url + path, params=query, data=body, headers=headers, timeout=60
            )
            self.report.body_cases[label] += 1
            self.report.body_statuses[label][reply.status_code] += 1
            sent = f"{method} {path}?{reply.request.url.partition('?')[2][:80]} {content_type!r}"
            if method in allowed.split(", "):
                page = reply.status_code == 200 and reply.headers.get("content-type", "").startswith("text/html")
                if not page:
                    self.flag("page", label, "expected the page (200, text/html)", f"{sent} -> {reply.status_code}")
                return
            ok = reply.status_code == 405 and reply.headers.get("Allow") == allowed
            self.expect("405", label, reply, ok, f"405 with Allow: {allowed}", sent)

        run()

    def run(self, spec: dict[str, Any], examples: int) -> None:
        import schemathesis

        schema = schemathesis.openapi.from_dict(spec)
        schema.config.update(base_url=self.base_url)
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.method.upper() in {"POST", "PUT", "PATCH"} and operation.body:
                self.operation(operation, examples)
        self.pages(examples)
        self.report.failures += list(self.wrong.values())


# ------------------------------------------------------------------------------------------
# The run


def run(base_url: str, api_key: str, examples: int, seed: int = 1, phases: tuple[str, ...] = ALL_PHASES) -> Report:
    report = Report()
    started = time.monotonic()
    run_schemathesis(base_url, api_key, examples, seed, phases, report)
    spec = requests.get(f"{base_url}/v1/openapi.json", timeout=30).json()
    BodyFuzzer(base_url, api_key, report).run(spec, max(2, examples // 4))
    report.seconds = time.monotonic() - started
    return report


def run_against_new_server(examples: int, seed: int = 1, phases: tuple[str, ...] = ALL_PHASES) -> Report:
    with tempfile.TemporaryDirectory(prefix="engram-fuzz-") as tmp:
        server = live.start(
            Path(tmp) / "data", FUZZ_KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000", "ENGRAM_EMBEDDER": "hashing"}
        )
        try:
            return run(server.url, FUZZ_KEY, examples, seed, phases)
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--examples", type=int, default=200, help="schemathesis examples per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default=",".join(ALL_PHASES))
    parser.add_argument("--url", help="fuzz this running server (its key in ENGRAM_FUZZ_KEY) instead of a new one")
    parser.add_argument("--json", type=Path, help="also write the report as JSON")
    args = parser.parse_args(argv)
    phases = tuple(p for p in args.phases.split(",") if p)
    if args.url:
        report = run(
            args.url.rstrip("/"), os.environ.get("ENGRAM_FUZZ_KEY", FUZZ_KEY), args.examples, args.seed, phases
        )
    else:
        report = run_against_new_server(args.examples, args.seed, phases)
    print(report.summary())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.as_json(), indent=2))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
