"""`engram export` / `engram import` against the local server, as a user runs them (subprocesses):
an Engram round trip into another tenant (counted, then re-imported with no duplicates), the mem0
and AgentCore samples end to end, --dry-run and --strict, and the CLI's messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engram.cli import main as cli
from engram.testing.server import ROOT, LocalServer
from engram_client import Engram

SAMPLES = ROOT / "clients" / "samples"


def engram(server: LocalServer, *args: str, key: str | None = None) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "engram.cli", *args, "--url", server.url, "--api-key", key or server.api_key],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def new_tenant(server: LocalServer, tenant: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "engram.cli", "keys", "create", "--tenant", tenant, "--data-dir", str(server.data_dir)],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    created = json.loads(done.stdout)
    assert created["tenant_id"] == tenant  # the same field name as `keys list`
    return str(created["api_key"])


def snapshot(client: Engram) -> dict[str, Any]:
    sessions = {}
    for session in client.iter_sessions():
        messages = [(m.role, m.content) for m in client.iter_messages(session.id)]
        sessions[session.key or session.id] = (session.status, session.title, messages)
    memories = {m.id: (m.text, m.namespace, m.type, m.tier, m.locked, m.created_at) for m in client.iter_memories()}
    misses = sorted((m.query, tuple(m.namespaces)) for m in client.iter_misses())
    return {"sessions": sessions, "memories": memories, "misses": misses}


def test_export_then_import_into_another_tenant_reproduces_everything(server: LocalServer, tmp_path: Path) -> None:
    source_key = new_tenant(server, "export-source")
    source = Engram(server.url, source_key)
    first = source.sessions.start(first_message="Plan the offsite", key="slack:offsite", agent_id="planner")
    source.sessions.turn(first.session_id, [{"role": "user", "content": "Book Lisbon"}])
    source.sessions.messages.add(first.session_id, [{"role": "assistant", "content": "Booked"}])
    second = source.sessions.create(title="Retro")
    for start in (0, 30):  # 50 messages at most per call
        source.sessions.messages.add(
            second.id, [{"role": "user", "content": f"note {i}"} for i in range(start, start + 30)]
        )
    source.sessions.end(second.id, outcome="partial", summary="Retro done")
    source.memories.create("The offsite is in Lisbon", session_id=first.session_id, type="event")
    locked = source.memories.create("Budget cap is 20k EUR", type="constraint")
    source.memories.lock(locked.id, "critical")
    attendees = [{"text": f"Attendee {i} prefers vegetarian lunch", "namespace": "attendees"} for i in range(130)]
    source.memories.batch_create(attendees[:100])
    source.memories.batch_create(attendees[100:])  # 132 memories: more than one batch on import
    source.memories.miss("Who approved the budget?", session_id=second.id, namespace="attendees")
    before = snapshot(source)

    out = tmp_path / "backup.ndjson"
    status, exported, _ = engram(server, "export", "--out", str(out), key=source_key)
    assert status == 0
    assert (exported["sessions"], exported["messages"], exported["memories"], exported["misses"]) == (2, 62, 132, 1)
    kinds = [json.loads(line)["kind"] for line in out.read_text().splitlines()]
    assert kinds[0] == "header" and kinds.count("miss") == 1 and len(kinds) == 1 + 2 + 62 + 132 + 1

    target_key = new_tenant(server, "export-target")
    status, imported, _ = engram(server, "import", str(out), "--format", "engram", key=target_key)
    assert status == 0, imported["problems"]
    counts = imported["counts"]
    assert counts["session created"] == 2 and counts["message created"] == 62 and counts["memory created"] == 132
    assert counts["miss created"] == 1
    after = snapshot(Engram(server.url, target_key))
    assert after["memories"] == before["memories"]  # same ids, text, tiers, locks and creation times
    assert after["misses"] == before["misses"]
    assert after["sessions"]["slack:offsite"] == before["sessions"]["slack:offsite"]
    retro = [v for k, v in after["sessions"].items() if k.startswith("import:")]
    assert retro == [before["sessions"][second.id]]

    status, again, _ = engram(server, "import", str(out), "--format", "engram", key=target_key)
    assert status == 0
    assert again["counts"] == {"memory exists": 132, "message existing": 62, "miss existing": 1, "session existing": 2}
    assert snapshot(Engram(server.url, target_key)) == after


def with_a_broken_record(sample: Path, tmp_path: Path, key: str, broken: dict[str, Any]) -> Path:
    """The sample plus one record that cannot be imported, written as the source tools write JSON."""
    document = json.loads(sample.read_text())
    document[key].append(broken)
    path = tmp_path / sample.name
    path.write_text(json.dumps(document, indent=2))
    return path


def line_of(path: Path, needle: str) -> int:
    """The line the JSON object holding ``needle`` starts on (the ``{`` above it)."""
    lines = path.read_text().splitlines()
    found = next(i for i, line in enumerate(lines) if needle in line)
    return next(i for i in range(found, -1, -1) if lines[i].strip() == "{") + 1


def test_mem0_sample_imports_end_to_end(server: LocalServer, tmp_path: Path) -> None:
    broken = {"id": "e7e7e7e7-5555-4444-8888-999999999999", "user_id": "alice", "created_at": "2025-05-21T12:00:00Z"}
    sample = with_a_broken_record(SAMPLES / "mem0-get-all.json", tmp_path, "results", broken)
    key = new_tenant(server, "from-mem0")
    client = Engram(server.url, key)
    bad_line = line_of(sample, "e7e7e7e7")

    status, dry, _ = engram(server, "import", str(sample), "--format", "mem0", "--dry-run", key=key)
    assert status == 1 and dry["counts"] == {"memory would import": 3, "malformed skipped": 1}
    assert dry["problems"] == [f"line {bad_line}: mem0 memory without 'memory' text"]
    assert client.memories.list().total_count == 0  # a dry run writes nothing

    status, strict, _ = engram(server, "import", str(sample), "--format", "mem0", "--strict", key=key)
    assert status == 1 and strict["stopped"].startswith(f"--strict: line {bad_line}")
    assert client.memories.list().total_count == 0  # stopped before the first batch was sent

    status, done, stderr = engram(server, "import", str(sample), "--format", "mem0", key=key)
    assert status == 1 and done["counts"] == {"memory created": 3, "malformed skipped": 1}
    assert f"line {bad_line}" in stderr and "import: " in stderr  # progress lines when not a terminal
    memories = {m.text: m for m in client.iter_memories()}
    food = memories["Prefers vegetarian food and is allergic to nuts"]
    assert food.namespace == "alice" and food.agent_id == "travel-assistant"
    assert food.metadata["source"]["system"] == "mem0" and food.metadata["source"]["id"].startswith("3c90c3cc")
    assert food.metadata["source"]["categories"] == ["food", "health"] and food.metadata["source"] != "onboarding"
    assert food.created_at == "2025-03-11T16:21:43Z"  # the source's time, in UTC
    assert memories["Likes window seats on long flights"].type == "preference"

    status, again, _ = engram(server, "import", str(sample), "--format", "mem0", key=key)
    assert again["counts"] == {"memory exists": 3, "malformed skipped": 1}
    assert client.memories.list().total_count == 3


def test_agentcore_sample_imports_end_to_end(server: LocalServer, tmp_path: Path) -> None:
    broken = {"memoryRecordId": "mem-broken-no-content", "namespaces": ["support/users/cust-1042/facts"]}
    sample = with_a_broken_record(
        SAMPLES / "agentcore-list-memory-records.json", tmp_path, "memoryRecordSummaries", broken
    )
    key = new_tenant(server, "from-agentcore")
    status, done, _ = engram(server, "import", str(sample), "--format", "agentcore", key=key)
    assert status == 1 and done["counts"] == {"memory created": 2, "malformed skipped": 1}
    assert done["problems"] == [
        f"line {line_of(sample, 'mem-broken-no-content')}: AgentCore record without 'content.text'"
    ]
    memories = {m.text: m for m in Engram(server.url, key).iter_memories()}
    email = memories["The customer prefers email over phone calls for support follow-ups."]
    assert email.namespace == "support/users/cust-1042/preferences"
    assert email.metadata["source"]["strategy_id"] == "userPreferences-x1y2z3"
    refund = memories["Order #88231 was refunded after a damaged delivery."]
    assert refund.created_at == "2025-07-14T10:32:05Z" and refund.metadata["channel"] == "chat"

    status, scoped, _ = engram(
        server, "import", str(sample), "--format", "agentcore", "--namespace", "cust-1042", key=key
    )
    assert scoped["counts"]["memory exists"] == 2  # the same source ids: nothing new, whatever the namespace


def test_cli_names_what_to_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("ENGRAM_URL", raising=False)
    monkeypatch.delenv("ENGRAM_API_KEY", raising=False)
    assert cli(["keys", "list", "--tenant", "acme", "--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "ENGRAM_DATA_DIR" in err and "--data-dir" in err and "make run" in err
    assert cli(["export", "--out", str(tmp_path / "x.ndjson"), "--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "--data-dir" in err and "--url" in err
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    assert cli(["keys", "list", "--tenant", "acme", "--stack", "engram"]) == 2
    err = capsys.readouterr().err
    assert "--region" in err and "Traceback" not in err
    assert not (tmp_path / "x.ndjson").exists()


def test_every_command_help_shows_an_example(capsys: Any) -> None:
    for command in (
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["reindex"],
        ["export"],
        ["import"],
        ["mcp"],
    ):
        with pytest.raises(SystemExit):
            cli([*command, "--help"])
        assert "example:\n  engram " in capsys.readouterr().out, command
