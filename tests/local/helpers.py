"""Helpers for engram.local tests: the fixture template, a tiny HTTP client, polling."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "template.yaml"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]


def call(
    port: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        data = body.encode() if isinstance(body, str) else body
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        for name, value in pairs:
            connection.putheader(name, value)
        if data is not None:
            connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def table_request(table_name: str, *, sort_key: bool = False, stream: bool = True) -> dict[str, Any]:
    """A CreateTable request: a string hash key ``pk`` (and a number range key ``sk``), on demand,
    with a NEW_AND_OLD_IMAGES stream unless ``stream=False``."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if sort_key:
        request["KeySchema"].append({"AttributeName": "sk", "KeyType": "RANGE"})
        request["AttributeDefinitions"].append({"AttributeName": "sk", "AttributeType": "N"})
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return request


class Server:
    """``python -m engram.local`` in a subprocess, its port read from the start-up banner."""

    def __init__(self, data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
            "ENGRAM_EMBEDDER": "hashing",  # the fixture's functions embed nothing: no model to load
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "engram.local", "--template", str(FIXTURE_TEMPLATE)),
                *("--data-dir", str(data_dir), "--port", "0", *extra),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.port = 0
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                match = re.search(r"running at http://127\.0\.0\.1:(\d+)", line)
                if match:
                    self.port = int(match.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(180) or not self.port:  # a busy machine starts slowly; that is not a failure
            self.process.kill()
            pytest.fail("server did not start:\n" + "".join(self.output))

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail("server did not exit:\n" + "".join(self.output))
