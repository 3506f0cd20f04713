"""Start ``tests/e2e/server.py``'s LocalServer robustly (shared by tests/fuzz and tests/abuse).

``LocalServer.start`` polls ``/v1/health`` with a 1 s timeout and only retries on ConnectionError,
so on a busy machine the first (cold) health call's ReadTimeout escapes — and leaves the server
process running. This waits through any request error and always stops a server that failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.e2e.server import ROOT, LocalServer


def start(data_dir: Path, api_key: str, env: dict[str, str] | None = None, timeout: float = 90.0) -> LocalServer:
    server = LocalServer(data_dir, api_key, env=env)
    server.data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "engram.local", "--port", str(server.port),
        "--data-dir", str(server.data_dir), "--quiet",
    ]  # fmt: skip
    with server.log.open("ab") as log:
        server.process = subprocess.Popen(command, cwd=ROOT, env=server.env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited {server.process.returncode}: {server.log.read_text()[-3000:]}")
        try:
            if requests.get(f"{server.url}/v1/health", timeout=10).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not start: {server.log.read_text()[-3000:]}")


def cli(server: LocalServer, *args: str) -> dict:
    """``engram`` CLI against the running local server's data directory; returns its JSON output."""
    out = subprocess.run(
        [sys.executable, "-m", "engram.cli", *args, "--data-dir", str(server.data_dir)],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)
