"""``make run`` says what it is doing: each slow step of its recipes is announced by a line first."""

from __future__ import annotations

import re

from tests.local.helpers import REPO

SLOW = re.compile(r"(?i)pip\)? install|-m venv|-m engram\.local")


def _recipes() -> dict[str, list[str]]:
    recipes: dict[str, list[str]] = {}
    target = None
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") and target is not None:
            recipes[target].append(line.strip())
        elif re.match(r"^[^\s#][^:=]*:(?!=)", line):
            target = line.split(":", 1)[0].strip()
            recipes[target] = []
        elif not line.startswith("\t"):
            target = None
    return recipes


def test_every_slow_step_of_make_run_is_announced() -> None:
    recipes = _recipes()
    steps = 0
    for target in ("$(STAMP)", "$(MODEL_STAMP)", "run"):
        lines = recipes[target]
        for index, line in enumerate(lines):
            if SLOW.search(line) and not line.startswith("@echo"):
                steps += 1
                assert index > 0 and lines[index - 1].startswith('@echo "engram: '), (target, line)
                assert line.startswith("@"), f"{target}: the announcement replaces the raw command: {line}"
    assert steps >= 4
