"""Bounded schemathesis run over every operation of the served OpenAPI document (see runner.py).

The long run is ``make fuzz`` (200 examples per operation and mode, a printed summary).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("schemathesis", reason="schemathesis==4.32.5 belongs in requirements-dev.txt")

from tests.fuzz import live
from tests.fuzz.runner import FUZZ_KEY, Fuzzer

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("ENGRAM_FUZZ_EXAMPLES", "8"))  # per operation and generation mode


def test_every_operation_survives_schemathesis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = live.start(tmp_path / "data", FUZZ_KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000"})
    try:
        report = Fuzzer(server.url, FUZZ_KEY).run(EXAMPLES, derandomize=True)
    finally:
        server.stop()
    with capsys.disabled():
        print("\n" + report.summary().split("advisory (spec gaps)")[0])
    assert report.total >= len(report.cases) > 10, report.summary()
    # Real ids reach the handlers: some operations on {id} answer 2xx, not only 404.
    with_id = [op for op in report.cases if "{" in op]
    assert sum(any(200 <= code < 300 for code in report.statuses[op]) for op in with_id) >= len(with_id) // 2
    assert not report.enforced, report.summary()
