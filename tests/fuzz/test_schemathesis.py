"""Bounded fuzz run inside ``make test`` (see runner.py): schemathesis' fuzzing and stateful phases
with every check, both generation modes, and the body classes, against a fresh local server.

The long run is ``make fuzz`` (every phase including coverage, 200 examples per operation).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("schemathesis", reason="schemathesis==4.32.5 belongs in requirements-dev.txt")

from tests.fuzz import live
from tests.fuzz.runner import FUZZ_KEY, run

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("ENGRAM_FUZZ_EXAMPLES", "3"))  # per operation and generation mode
PHASES = tuple(os.environ.get("ENGRAM_FUZZ_PHASES", "fuzzing,stateful").split(","))


def test_every_operation_survives_schemathesis_and_the_body_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = live.start(tmp_path / "data", FUZZ_KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "1000000"})
    try:
        report = run(server.url, FUZZ_KEY, EXAMPLES, seed=1, phases=PHASES)
    finally:
        server.stop()
    with capsys.disabled():
        print("\n" + report.summary())
    assert {report.schemathesis_phases[p] for p in PHASES} <= {"success", "failure"}, report.cli_output[-3000:]
    operations = report.schemathesis_statuses
    assert len(operations) >= 30 and report.schemathesis_cases >= 2 * len(operations), report.summary()
    # Real ids reach the handlers: most operations on {id} answer 2xx at least once, not only 404.
    with_id = [op for op in operations if "{" in op]
    assert sum(any(200 <= code < 300 for code in operations[op]) for op in with_id) >= len(with_id) // 2
    # Every body operation met every class of body.
    classes = {label.split("  ")[0] for label in report.body_cases}
    assert classes == {
        "non-JSON media type",
        "JSON media type spellings",
        "array or scalar body",
        "non-finite number anywhere",
        "undocumented page",
    }
    assert len({label.split("  ")[1] for label in report.body_cases}) >= 15
    assert not report.failures, report.summary()
