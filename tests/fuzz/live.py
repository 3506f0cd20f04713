"""Start ``engram.testing.server``'s LocalServer robustly (shared by tests/fuzz and tests/abuse).

``LocalServer.start`` polls ``/v1/health`` with a 1 s timeout and only retries on ConnectionError,
so on a busy machine the first (cold) health call's ReadTimeout escapes — and leaves the server
process running. This waits through any request error and always stops a server that failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engram.testing.server import ROOT, LocalServer


def start(data_dir: Path, api_key: str, env: dict[str, str] | None = None, timeout: float = 90.0) -> LocalServer:
    return LocalServer(data_dir, api_key, env=env).start(timeout)


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
