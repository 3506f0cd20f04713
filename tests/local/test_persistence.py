"""State survives a clean restart and a kill -9; SIGTERM stops cleanly; the API key is kept."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engram.local.dynamo import read_journal
from engram.local.runtime import LocalRuntime
from tests.local.helpers import FIXTURE_TEMPLATE, Server, call, wait_for

REPO = Path(__file__).resolve().parents[2]


def test_clean_restart_keeps_data_and_the_api_key(tmp_path: Path, logs: dict[str, Path]) -> None:
    data = tmp_path / "data"
    with LocalRuntime(FIXTURE_TEMPLATE, data) as first:
        for number in range(30):
            assert call(first.port, "PUT", f"/items/k{number}", body=f'{{"n": {number}}}').status == 200
        assert call(first.port, "DELETE", "/items/k0").status == 204
        assert first.api_key is not None
        key = first.api_key
    assert (data / "api-key").read_text().strip() == key.secret

    with LocalRuntime(FIXTURE_TEMPLATE, data) as second:
        assert call(second.port, "GET", "/items/k0").status == 404
        for number in range(1, 30):
            assert call(second.port, "GET", f"/items/k{number}").json()["value"] == {"n": number}
        assert second.api_key == key  # the same secret, and the same key id: not registered twice


def test_api_key_from_the_environment(tmp_path: Path, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_API_KEY", "egm_chosen-by-the-developer-123")
    with LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data") as runtime:
        assert runtime.api_key is not None
        assert runtime.api_key.secret == "egm_chosen-by-the-developer-123"
    assert not (tmp_path / "data" / "api-key").exists()


def test_torn_last_journal_line_is_ignored(tmp_path: Path) -> None:
    journal = tmp_path / "journal-0.jsonl"
    journal.write_bytes(b'{"op": "PutItem", "body": "{}"}\n{"op": "PutIt')
    assert [(e.operation, e.body) for e in read_journal(journal)] == [("PutItem", b"{}")]


@pytest.mark.e2e
def test_acknowledged_writes_survive_kill_9(tmp_path: Path, logs: dict[str, Path]) -> None:
    data = tmp_path / "data"
    server = Server(data)
    for number in range(20):
        assert call(server.port, "PUT", f"/items/k{number}", body=f'{{"n": {number}}}').status == 200
    assert call(server.port, "DELETE", "/items/k3").status == 204
    server.process.send_signal(signal.SIGKILL)
    server.wait()

    restarted = Server(data)
    try:
        for number in range(20):
            reply = call(restarted.port, "GET", f"/items/k{number}")
            if number == 3:
                assert reply.status == 404
            else:
                assert reply.json()["value"] == {"n": number}
        assert call(restarted.port, "PUT", "/items/later", body="{}").status == 200
    finally:
        restarted.process.send_signal(signal.SIGTERM)
        assert restarted.wait() == 0


@pytest.mark.e2e
def test_sigterm_finishes_and_exits_0(tmp_path: Path, logs: dict[str, Path]) -> None:
    data = tmp_path / "data"
    server = Server(data)
    assert call(server.port, "PUT", "/items/a", body='{"n": 1}').status == 200
    server.process.send_signal(signal.SIGTERM)
    assert server.wait() == 0  # within wait()'s bound; how fast is bench-soak's business, not a test's
    output = "".join(server.output)
    assert "GET" not in output and "PUT /items/a 200" in output  # one log line per request
    assert "stopped" in output
    # A clean stop leaves a snapshot and an empty journal.
    journals = list((data / "dynamodb").glob("journal-*.jsonl"))
    assert (data / "dynamodb" / "snapshot.jsonl").exists()
    assert [j.stat().st_size for j in journals] in ([], [0])


@pytest.mark.e2e
def test_sigusr1_prints_every_threads_stack_and_the_server_goes_on(tmp_path: Path, logs: dict[str, Path]) -> None:
    server = Server(tmp_path / "data")
    server.process.send_signal(signal.SIGUSR1)  # what a test does before killing a server that hangs
    wait_for(lambda: any("most recent call first" in line for line in server.output), timeout=30)
    output = "".join(server.output)
    assert "Current thread" in output and "engram/local/__main__.py" in output
    assert call(server.port, "PUT", "/items/after", body='{"n": 2}').status == 200
    server.process.send_signal(signal.SIGTERM)
    assert server.wait() == 0


@pytest.mark.e2e
def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *(sys.executable, "-m", "engram.local", "--template", str(FIXTURE_TEMPLATE)),
                *("--data-dir", str(tmp_path / "data"), "--port", str(port)),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr
