"""Start the real local server (`python -m engram.local`) in a subprocess on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[3]  # the repository this (editable) install lives in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    def __init__(
        self,
        data_dir: Path,
        api_key: str,
        env: dict[str, str] | None = None,
        root: Path | None = None,
        *,
        quiet: bool = True,
        lazy: bool = True,
        args: list[str] | None = None,
    ) -> None:
        """``root``: the working directory (another checkout's, with its package on PYTHONPATH);
        ``lazy``: start with ``--lazy`` (handlers imported on first use: a test pays only for the
        functions it calls); ``args``: more options for ``engram.local`` (e.g. ``--workers 2``)."""
        self.root = root or ROOT
        self.data_dir = data_dir
        self.quiet = quiet  # False: a line per request in the log ("GET /v1/health 200 3ms")
        self.args = [*(["--lazy"] if lazy else []), *(args or [])]
        self.api_key = api_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ENGRAM_", "AWS_ENDPOINT_URL"))},
            "ENGRAM_API_KEY": api_key,
            "ENGRAM_EMBEDDER": "hashing",
            "ENGRAM_LOCAL_SCHEDULE_SECONDS": "3600",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 60.0) -> LocalServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "engram.local",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *(["--quiet"] if self.quiet else []),
            *self.args,
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/v1/health", timeout=10).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or still replaying its journal
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            # A stop drains stream work and writes a snapshot; on a 2-core machine shared by a whole
            # xdist run that once took over 60 s. A server that never stops is still a failure, and
            # is killed first so no process outlives the test.
            code = self.process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            # Every thread's stack into the log first (python -m engram.local prints them on
            # SIGUSR1), so that the failure says where it hung.
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None
            tail = self.log.read_text()[-12000:]
            raise RuntimeError(f"server did not stop within 180 s of signal {sig}: {tail}") from None
        self.process = None
        return code

    def request(self, method: str, path: str, key: str | None = "default", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        token = self.api_key if key == "default" else key
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
