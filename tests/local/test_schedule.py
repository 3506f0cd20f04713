"""Scheduled functions get EventBridge's Scheduled Event on their interval."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engram.local.runtime import LocalRuntime
from tests.local.helpers import FIXTURE_TEMPLATE, call, read_jsonl, wait_for


def test_schedule_invokes_with_a_scheduled_event(
    tmp_path: Path, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAM_LOCAL_SCHEDULE_SECONDS", "0.2")
    with LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data"):
        events = wait_for(lambda: read_jsonl(logs["tick"]) if len(read_jsonl(logs["tick"])) >= 2 else None)
    event = events[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert event["detail"] == {}
    assert event["resources"][0].startswith("arn:aws:events:us-east-1:123456789012:rule/")
    assert event["time"].endswith("Z")
    assert events[0]["id"] != events[1]["id"]


def test_default_interval_comes_from_the_rate_expression(runtime: LocalRuntime, logs: dict[str, Path]) -> None:
    assert runtime.scheduler is not None
    assert "TickFunction.Every" in runtime.scheduler.job_names
    runtime.scheduler.run("TickFunction.Every")  # rate(5 minutes): run it by hand
    assert len(read_jsonl(logs["tick"])) == 1


def test_reaper_runs_on_the_schedule_tick(
    tmp_path: Path, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAM_LOCAL_SCHEDULE_SECONDS", "0.2")
    with LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data") as runtime:
        past = int(time.time()) - 5
        assert call(runtime.port, "PUT", "/items/t", body=f'{{"expires_at": {past}}}').status == 200
        wait_for(lambda: call(runtime.port, "GET", "/items/t").status == 404)
