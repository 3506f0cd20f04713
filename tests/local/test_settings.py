"""Start-up: settings are validated once, before anything starts, and a bad one is named with its
value and its bound (not reported later as some other failure); each step is printed; the embedding
model is loaded before the API answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engram.local.runtime import LocalRuntime, LocalRuntimeError
from tests.local.helpers import FIXTURE_TEMPLATE, REPO, Server


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ENGRAM_INACTIVITY_TIMEOUT_SECONDS", "5", "ENGRAM_INACTIVITY_TIMEOUT_SECONDS=5: must be at least 60"),
        ("ENGRAM_RATE_LIMIT_PER_MINUTE", "lots", "ENGRAM_RATE_LIMIT_PER_MINUTE=lots: must be a whole number"),
        ("ENGRAM_EMBEDDER", "gpt", "ENGRAM_EMBEDDER=gpt: must be one of 'hashing', 'local' or 'bedrock'"),
        ("ENGRAM_LOCAL_SCHEDULE_SECONDS", "0", "ENGRAM_LOCAL_SCHEDULE_SECONDS=0: must be a number of seconds from"),
    ],
)
def test_a_bad_setting_is_named_before_anything_starts(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    environ = {**os.environ, variable: value}
    runtime = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", environ=environ)
    with pytest.raises(LocalRuntimeError) as refused:
        runtime.start()
    message = str(refused.value)
    assert expected in message
    assert "API key" not in message
    assert not (tmp_path / "data").exists()  # nothing was started, nothing written


@pytest.mark.e2e
def test_make_run_reports_the_setting_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [
            *(sys.executable, "-m", "engram.local", "--template", str(FIXTURE_TEMPLATE)),
            *("--data-dir", str(tmp_path / "data"), "--port", str(port)),
        ],
        cwd=REPO,
        env={**os.environ, "ENGRAM_INACTIVITY_TIMEOUT_SECONDS": "5"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "ENGRAM_INACTIVITY_TIMEOUT_SECONDS=5: must be at least 60" in result.stderr
    assert "Traceback" not in result.stderr


def test_warm_up_loads_the_embedding_model_before_the_api_answers(
    tmp_path: Path, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import engram.embed

    loaded: list[list[str]] = []

    class Recording:
        name, dimensions = "recording", 3

        def embed(self, texts: list[str]) -> list[list[float]]:
            loaded.append(list(texts))
            return [[1.0, 0.0, 0.0] for _ in texts]

    monkeypatch.setattr(engram.embed, "get_embedder", lambda settings: Recording())
    environ = {**os.environ, "ENGRAM_EMBEDDER": "local"}
    with LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", environ=environ, warm_up=True):
        assert loaded == [["warm-up"]]
    loaded.clear()
    with LocalRuntime(
        FIXTURE_TEMPLATE, tmp_path / "data", environ={**os.environ, "ENGRAM_EMBEDDER": "hashing"}, warm_up=True
    ):
        assert loaded == []  # nothing to load


@pytest.mark.e2e
def test_start_up_prints_a_line_per_step_before_the_banner(tmp_path: Path, logs: dict[str, Path]) -> None:
    server = Server(tmp_path / "data", "--workers", "2", env={"ENGRAM_EMBEDDER": "hashing"})
    try:
        output = "".join(server.output)
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.wait() == 0
    banner = output.index("Engram is running")
    for step in ("restoring DynamoDB", "DynamoDB ready", "starting 2 handler processes", "handler processes ready"):
        assert -1 < output.find(step) < banner, step
    assert "handlers  2 processes" in output


@pytest.mark.parametrize(
    ("argv", "environ", "code", "expected"),
    [
        ([], {"ENGRAM_LOCAL_WORKERS": "many"}, 1, "ENGRAM_LOCAL_WORKERS=many: must be a whole number from 0 to 32"),
        ([], {"ENGRAM_LOCAL_WARM_WORKERS": "0"}, 1, "ENGRAM_LOCAL_WARM_WORKERS=0: must be a whole number from 1 to 32"),
        (["--workers", "40"], {}, 2, "--workers must be from 0 to 32"),
        (["--workers", "2", "--warm-workers", "3"], {}, 2, "--warm-workers (3) cannot be more than the most handler"),
        (["--workers", "4"], {"ENGRAM_LOCAL_WARM_WORKERS": "5"}, 1, "ENGRAM_LOCAL_WARM_WORKERS=5: cannot be more"),
        ([], {"ENGRAM_LOCAL_DYNAMO_PROCESS": "yes"}, 1, "ENGRAM_LOCAL_DYNAMO_PROCESS=yes: must be 1 (DynamoDB"),
    ],
)
def test_handler_process_counts_are_checked_before_anything_starts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    environ: dict[str, str],
    code: int,
    expected: str,
) -> None:
    from engram.local.__main__ import main

    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    try:
        returned = main([*argv, "--template", str(FIXTURE_TEMPLATE), "--data-dir", str(data), "--port", "0"])
    except SystemExit as exit_:  # argparse's own exit for a command-line mistake
        returned = exit_.code
    assert returned == code
    assert expected in capsys.readouterr().err
    assert not data.exists()  # nothing was started, nothing written
