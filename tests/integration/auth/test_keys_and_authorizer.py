"""API keys stored hashed in DynamoDB, the authorizer function, revocation, the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest

from engram import clock
from engram.cli import main as cli
from engram.container import api_keys
from tests.support.events import LambdaContext, function_module


def authorizer_event(secret: str | None, ip: str = "192.0.2.1") -> dict:
    headers = {"authorization": f"Bearer {secret}"} if secret else {}
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/POST/v1/sessions",
        "identitySource": [],
        "routeKey": "POST /v1/sessions",
        "rawPath": "/v1/sessions",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/v1/sessions", "sourceIp": ip}},
    }


def authorize(secret: str | None, ip: str = "192.0.2.1") -> dict:
    return function_module("authorizer").lambda_handler(authorizer_event(secret, ip), LambdaContext())


def test_keys_are_stored_hashed_and_resolve_to_their_tenant(aws: dict[str, str]) -> None:
    created = api_keys().create(tenant_id="acme", name="ci")
    assert created.secret.startswith("egm_") and len(created.secret) > 30
    items = boto3.client("dynamodb").scan(TableName=aws["ApiKeysTable"])["Items"]
    assert len(items) == 1
    assert items[0]["pk"]["S"] == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.secret not in json.dumps(items)
    assert authorize(created.secret)["context"] == {"tenant_id": "acme", "key_id": created.key_id}


def test_revoked_key_is_unauthorized(aws: dict[str, str]) -> None:
    created = api_keys().create(tenant_id="acme")
    api_keys().revoke(created.key_id)
    assert authorize(created.secret)["context"]["error"] == "unauthorized"
    assert [k.revoked_at is not None for k in api_keys().list("acme")] == [True]


def test_rate_limit_per_key_resets_next_minute(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_RATE_LIMIT_PER_MINUTE", "3")
    from engram import container

    container.reset()
    now = [1_800_000_010.0]
    clock.set_clock(lambda: now[0])
    secret = api_keys().create(tenant_id="acme").secret
    verdicts = [authorize(secret, ip=f"198.51.100.{i}")["context"] for i in range(4)]
    assert [v.get("error") for v in verdicts] == [None, None, None, "rate_limited"]
    assert verdicts[3]["retry_after"] == "50"
    now[0] += 60
    assert "error" not in authorize(secret)["context"]


def test_cli_creates_and_revokes_keys_against_local_runtime(
    aws: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "runtime.json").write_text(json.dumps({"env": {"ENGRAM_API_KEYS_TABLE": aws["ApiKeysTable"]}}))
    assert cli(["keys", "create", "--tenant", "acme", "--name", "ops", "--data-dir", str(tmp_path)]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["tenant_id"] == "acme" and created["api_key"].startswith("egm_")
    assert authorize(created["api_key"])["context"]["tenant_id"] == "acme"
    assert cli(["keys", "revoke", created["key_id"], "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert authorize(created["api_key"])["context"]["error"] == "unauthorized"
    assert cli(["keys", "create", "--tenant", "bad tenant!", "--data-dir", str(tmp_path)]) == 2
    assert "tenant" in capsys.readouterr().err
    assert cli(["keys", "list", "--tenant", "acme", "--data-dir", str(tmp_path / "nowhere")]) == 2


def test_cli_reindex_rebuilds_a_wiped_index(
    aws: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import shutil

    from tests.support.events import http_event, invoke

    created = invoke(
        "create_memory", http_event("POST", "/v1/memories", body={"text": "User's favourite editor is Helix"})
    )
    assert created.status == 201
    data_dir = os.environ["ENGRAM_DATA_DIR"]
    from engram import container

    container.reset()
    shutil.rmtree(data_dir)  # the local index lives under the data dir: gone
    query = {"query": "which editor does the user like", "threshold": 0.0}
    assert invoke("search_memories", http_event("POST", "/v1/memories/search", body=query)).json["results"] == []
    runtime = {
        "env": {
            "ENGRAM_MEMORIES_TABLE": aws["MemoriesTable"],
            "ENGRAM_DATA_DIR": data_dir,
            "ENGRAM_EMBEDDER": "hashing",
        }
    }
    (tmp_path / "runtime.json").write_text(json.dumps(runtime))
    assert cli(["reindex", "--data-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"reindexed": 1}
    hits = invoke("search_memories", http_event("POST", "/v1/memories/search", body=query)).json["results"]
    assert [h["id"] for h in hits] == [created.json["id"]]
