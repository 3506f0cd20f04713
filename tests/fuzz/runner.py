"""Schemathesis against the live local server: every operation of the served OpenAPI document.

Shared by the bounded pytest run (``tests/fuzz/test_schemathesis.py``, inside ``make test``) and the
long run (``make fuzz`` → ``python -m tests.fuzz.runner --examples 200``).

Checks are split in two:

* enforced (a failure fails the test): no 5xx (``not_a_server_error``); every response is JSON
  (``application/json``); every 4xx is in Engram's one error shape; 2xx bodies conform to the
  documented response schema (``response_schema_conformance`` for documented 2xx statuses).
* advisory (reported, never fatal): ``status_code_conformance`` and ``response_schema_conformance``
  for documented 4xx statuses. Powertools' generated document only lists 200 and 422 (with
  Powertools' own ``HTTPValidationError`` body) for every operation, while the API answers
  201/401/404/409/410/413/422/429 in the Engram error shape; until the spec documents those, the
  advisory checks would fail on every honest answer.

Path parameters are sometimes real ids: before fuzzing an operation a fresh session (with a key)
and, when the memories route is served, a fresh memory are created, and ``{id}`` is drawn from
{generated value, session id, session key, memory id}, so not every request is a 404.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.fuzz import live

FUZZ_KEY = "egm_fuzz_local_key_0123456789abcdef"
ERROR_KEYS = {"error", "request_id"}
ERROR_INNER_KEYS = {"code", "message", "details"}
_ENUM_REPR = re.compile(r"^[A-Za-z]+Type\.([a-z_]+)$")


# ------------------------------------------------------------------------------------------
# The served document, repaired where Powertools' models were stringified


def repair_spec(spec: dict[str, Any]) -> list[str]:
    """Fix in place what ``openapi_build`` stringified (``json.dumps(default=str)``); returns notes.

    The served document has ``"in": "ParameterInType.path"`` and a ``securitySchemes.bearerAuth``
    that is the repr of a pydantic model — both invalid OpenAPI (reported as a bug)."""
    notes: list[str] = []

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, f"{where}/{k}") for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{where}/{i}") for i, v in enumerate(node)]
        if isinstance(node, str) and (match := _ENUM_REPR.match(node)):
            notes.append(f"{where}: {node!r} -> {match.group(1)!r}")
            return match.group(1)
        return node

    repaired = walk(spec, "")
    spec.clear()
    spec.update(repaired)
    schemes = spec.setdefault("components", {}).setdefault("securitySchemes", {})
    for name, scheme in list(schemes.items()):
        if isinstance(scheme, str):
            notes.append(f"/components/securitySchemes/{name}: a model repr string -> {{type: http, scheme: bearer}}")
            schemes[name] = {"type": "http", "scheme": "bearer", "description": "An Engram API key"}
    return notes


def documented_statuses(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {
        f"{method.upper()} {path}": sorted(op.get("responses", {}))
        for path, ops in spec.get("paths", {}).items()
        for method, op in ops.items()
        if isinstance(op, dict)
    }


# ------------------------------------------------------------------------------------------
# Results


@dataclass
class Finding:
    check: str
    operation: str
    status: int
    message: str
    curl: str
    count: int = 1


@dataclass
class Report:
    cases: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    enforced: dict[tuple[str, str, int], Finding] = field(default_factory=dict)
    advisory: dict[tuple[str, str, int], Finding] = field(default_factory=dict)
    spec_notes: list[str] = field(default_factory=list)
    operations_skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, bucket: dict[tuple[str, str, int], Finding], finding: Finding) -> None:
        key = (finding.check, finding.operation, finding.status)
        known = bucket.get(key)
        if known is None:
            bucket[key] = finding
            return
        known.count += 1
        if len(finding.curl) < len(known.curl):  # keep the shortest reproduction
            known.message, known.curl = finding.message, finding.curl

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    def summary(self) -> str:
        lines = [f"schemathesis: {self.total} cases over {len(self.cases)} operations in {self.seconds:.1f}s"]
        for op in sorted(self.cases):
            codes = " ".join(f"{code}x{n}" for code, n in sorted(self.statuses[op].items()))
            lines.append(f"  {op:<45} {self.cases[op]:>5}  {codes}")
        for title, bucket in (("ENFORCED failures", self.enforced), ("advisory (spec gaps)", self.advisory)):
            lines.append(f"{title}: {len(bucket)}")
            for f in sorted(bucket.values(), key=lambda f: (f.check, f.operation, f.status)):
                lines.append(
                    f"  [{f.check}] {f.operation} -> {f.status} (x{f.count}): {f.message.splitlines()[0][:200]}"
                )
                lines.append(f"      {f.curl[:600]}")
        if self.spec_notes:
            lines.append(f"spec repaired before loading ({len(self.spec_notes)} values), e.g. {self.spec_notes[0]}")
        if self.operations_skipped:
            lines.append("operations skipped: " + ", ".join(self.operations_skipped))
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Engram-specific checks


def _json_and_error_shape(response: Any, operation: str) -> str | None:
    """Every answer is JSON; every 4xx is exactly Engram's error shape."""
    if operation == "GET /docs":
        return None
    if response.status_code in (202, 204) and not response.content:  # accepted, no body (MCP notifications)
        return None
    ctype = ",".join(response.headers.get("content-type", []))
    if not ctype.startswith("application/json"):
        return f"Content-Type is {ctype!r}, expected application/json"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "body is not JSON"
    if 400 <= response.status_code < 500:
        if not isinstance(body, dict) or set(body) != ERROR_KEYS:
            found = sorted(body) if isinstance(body, dict) else type(body).__name__
            return f"4xx body keys {found}, expected {sorted(ERROR_KEYS)}"
        inner = body["error"]
        if not isinstance(inner, dict) or set(inner) != ERROR_INNER_KEYS:
            return f"error keys {sorted(inner) if isinstance(inner, dict) else inner!r}"
        if not (
            isinstance(inner["code"], str) and isinstance(inner["message"], str) and isinstance(inner["details"], list)
        ):
            return "error.code/message must be strings and details a list"
        if not isinstance(body["request_id"], str) or not body["request_id"]:
            return "request_id missing"
    return None


# ------------------------------------------------------------------------------------------
# The run


class Fuzzer:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"
        self.valid: dict[str, list[str]] = {"session": [], "memory": []}
        self.report = Report()

    # -- seeding ---------------------------------------------------------------------------
    def seed(self, served: set[str]) -> None:
        """A fresh session (id and key) and memory, so mutating operations always find one."""
        suffix = uuid.uuid4().hex[:10]
        self.valid = {"session": [], "memory": []}
        reply = self.http.post(
            f"{self.base_url}/v1/sessions",
            json={"key": f"fuzz:{suffix}", "title": "fuzz", "agent_id": "fuzzer", "metadata": {"k": "v"}},
            timeout=30,
        )
        if reply.status_code == 201:
            self.valid["session"] = [reply.json()["id"], f"fuzz:{suffix}"]
            self.http.post(
                f"{self.base_url}/v1/sessions/{reply.json()['id']}/messages",
                json={"role": "user", "content": "I prefer tea over coffee"},
                timeout=30,
            )
        if "POST /v1/memories" in served:
            reply = self.http.post(
                f"{self.base_url}/v1/memories",
                json={"text": f"The user prefers tea ({suffix})", "title": "tea", "type": "preference"},
                timeout=30,
            )
            if reply.status_code == 201:
                self.valid["memory"] = [reply.json()["id"]]

    def path_parameters(self, context: Any, params: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        if not params:
            return st.just(params)
        path = context.operation.path if context.operation is not None else ""
        kind = "memory" if path.startswith("/v1/memories/") else "session"
        choices = [params]
        for name in params:
            for value in self.valid[kind]:
                choices += [{**params, name: value}] * 2  # real ids twice as likely as generated ones
        return st.sampled_from(choices)

    # -- one operation -----------------------------------------------------------------------
    def fuzz_operation(self, operation: Any, examples: int, derandomize: bool) -> None:
        label = f"{operation.method.upper()} {operation.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=derandomize,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                self.one_case(label, case)

            try:
                run()
            except Unsatisfiable:  # nothing to negate (no parameters, no body)
                continue
            except Exception as exc:
                self.report.add(
                    self.report.enforced,
                    Finding("generation", label, 0, f"{type(exc).__name__}: {exc}"[:500], f"mode={mode.value}"),
                )

    def one_case(self, label: str, case: Any) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = case.call(base_url=self.base_url, session=self.http, headers=headers, timeout=30)
        self.report.cases[label] += 1
        self.report.statuses[label][response.status_code] += 1
        curl = case.as_curl_command(headers=headers, base_url=self.base_url)
        for check, enforced in self._checks(response):
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    bucket = self.report.enforced if enforced else self.report.advisory
                    name = getattr(check, "__name__", str(check))
                    self.report.add(
                        bucket,
                        Finding(name, label, response.status_code, failure.title + ": " + str(failure.message), curl),
                    )
        problem = _json_and_error_shape(response, label)
        if problem:
            self.report.add(
                self.report.enforced, Finding("engram_error_shape", label, response.status_code, problem, curl)
            )

    @staticmethod
    def _checks(response: Any) -> list[tuple[Any, bool]]:
        checks: list[tuple[Any, bool]] = [(not_a_server_error, True), (status_code_conformance, False)]
        checks.append((response_schema_conformance, response.status_code < 400))
        return checks

    # -- everything ----------------------------------------------------------------------------
    def run(self, examples: int, derandomize: bool = True, operations: set[str] | None = None) -> Report:
        started = time.monotonic()
        spec = requests.get(f"{self.base_url}/v1/openapi.json", timeout=30).json()
        self.report.spec_notes = repair_spec(spec)
        schema = schemathesis.openapi.from_dict(spec)
        schema.config.update(base_url=self.base_url)

        def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
            return self.path_parameters(context, path_parameters)

        schema.hook(flatmap_path_parameters)
        served = set(documented_statuses(spec))
        for result in schema.get_all_operations():
            if isinstance(result, Err):  # an operation schemathesis cannot read is a spec bug
                err = result.err()
                self.report.add(self.report.enforced, Finding("invalid_schema", str(err)[:120], 0, str(err), ""))
                continue
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            if operations and label not in operations:
                continue
            if label == "GET /docs":  # HTML, not JSON; covered by its own tests
                self.report.operations_skipped.append(label)
                continue
            self.seed(served)
            self.fuzz_operation(operation, examples, derandomize)
        self.report.seconds = time.monotonic() - started
        return self.report


def run_against_new_server(examples: int, derandomize: bool, operations: set[str] | None = None) -> Report:
    with tempfile.TemporaryDirectory(prefix="engram-fuzz-") as tmp:
        server = live.start(
            Path(tmp) / "data", FUZZ_KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000", "ENGRAM_EMBEDDER": "hashing"}
        )
        try:
            return Fuzzer(server.url, FUZZ_KEY).run(examples, derandomize, operations)
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz every operation of the served OpenAPI document.")
    parser.add_argument("--examples", type=int, default=200, help="examples per operation and generation mode")
    parser.add_argument("--random", action="store_true", help="random (not derandomized) generation")
    parser.add_argument("--operation", action="append", help='only these operations, e.g. "GET /v1/sessions"')
    parser.add_argument("--json", type=Path, help="also write the report as JSON")
    args = parser.parse_args(argv)
    report = run_against_new_server(args.examples, not args.random, set(args.operation or []) or None)
    print(report.summary())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "cases": dict(report.cases),
                    "total": report.total,
                    "seconds": round(report.seconds, 1),
                    "enforced": [vars(f) for f in report.enforced.values()],
                    "advisory": [vars(f) for f in report.advisory.values()],
                },
                indent=2,
            )
        )
    return 1 if report.enforced else 0


if __name__ == "__main__":
    sys.exit(main())
