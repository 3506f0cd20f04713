"""DynamoDB's own process: local mode's moto endpoint, journal and stream logs beside the server.

With handler processes (``make run``), every DynamoDB request of every handler lands on one moto
endpoint, which applies one request at a time under one lock. In the server process it shared one
interpreter, and so one GIL, with the API gateway, the stream pumps and the local index; under
load that process became the limit (0.82-0.84 of a core in every run, whatever the number of
handler processes, while part of the machine idled). Here :class:`~engram.local.dynamo.LocalDynamo`
runs in a child process of the server: the endpoint gets an interpreter of its own, and the server
process keeps the gateway, the pumps, the scheduler and the index.

Durability is unchanged: the child appends a write to the journal before moto's answer goes back,
as it did in the server process. The server reaches the rest of LocalDynamo's surface (the calls
the runtime makes, the stream logs the pumps read, the change feed they wait on, the TTL reaper's
expired keys, the snapshot at a clean stop) through :class:`DynamoProcess`, which has the same
methods, over :mod:`engram.local.rpc`.

The child ignores Ctrl-C and SIGTERM (the server stops it last, after the pumps have delivered,
so that its snapshot holds everything) and exits within a second of the server's death. From
before it reads the snapshot until it exits it holds an exclusive lock on ``<data dir>/.lock``:
a server restarted at once after a ``kill -9`` waits for the old child to go, and a second server
on the same data directory is refused instead of writing the same journal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import IO, Any

from engram.index.remote import no_delay
from engram.local.dynamo import DynamoError
from engram.local.template import TableSpec

log = logging.getLogger("engram.local.dynamo")

SETTINGS_VARIABLE = "ENGRAM_LOCAL_DYNAMO_SETTINGS"
KEY_VARIABLE = "ENGRAM_LOCAL_DYNAMO_KEY"
LOCK_FILE = ".lock"
LOCK_WAIT_SECONDS = 10.0  # longer than a killed server's child takes to notice and exit
STOP_SECONDS = 120.0  # a clean stop writes the snapshot: large data takes a while

# What the server may call on the child's :class:`_Storage`.
METHODS = frozenset(
    {
        "call",
        "ensure_tables",
        "describe",
        "snapshot_now",
        "latest_position",
        "close_subscriptions",
        "expired_keys",
        "log_read",
        "log_oldest",
        "log_subscribe",
        "log_advance",
        "log_pending",
        "log_length",
        "generation",
        "wait_past",
        "wake_all",
        "stop",
    }
)


class DynamoProcessError(Exception):
    """DynamoDB's process could not start; the message says why."""


class DynamoProcessGone(DynamoError):
    """The child is not answering: it exited, or is exiting."""


# ---- the server's side --------------------------------------------------------------------


class DynamoProcess:
    """:class:`~engram.local.dynamo.LocalDynamo`'s surface, answered by a child process.

    ``on_exit`` is called with the child's exit code if it exits before :meth:`stop` (it crashed,
    or was killed): the server cannot serve without it. ``lock_wait`` is how long the child waits
    for another process to let go of the data directory.
    """

    def __init__(
        self,
        data_dir: Path,
        region: str,
        host: str = "127.0.0.1",
        fsync: bool = False,
        on_exit: Callable[[int], None] | None = None,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.data_dir = data_dir
        self.region = region
        self.host = host
        self._fsync = fsync
        self._on_exit = on_exit
        self._lock_wait = lock_wait
        self.changes = RemoteChanges(self)
        self.process: subprocess.Popen[bytes] | None = None
        self._endpoint = ""
        self._address: tuple[str, int] = ("", 0)
        self._key = b""
        self._stats: dict[str, int] = {}
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._stats)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the child and wait until it has restored the data and serves the endpoint."""
        self._key = secrets.token_bytes(32)
        settings = {
            "data_dir": str(self.data_dir),
            "region": self.region,
            "host": self.host,
            "fsync": self._fsync,
            "lock_wait": self._lock_wait,
        }
        environ = {**os.environ, SETTINGS_VARIABLE: json.dumps(settings), KEY_VARIABLE: self._key.hex()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engram.local.dynamo_process"],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the child answers or exits; it bounds its own waits
        self.process.stdout.close()
        try:
            ready = json.loads(line) if line.strip() else {}
        except ValueError:
            ready = {}
        if "endpoint" not in ready:
            code = self.process.wait()
            raise DynamoProcessError(
                ready.get("error") or f"DynamoDB's process exited with code {code} before it was ready"
            )
        self._endpoint = str(ready["endpoint"])
        host, _, port = str(ready["rpc"]).rpartition(":")
        self._address = (host, int(port))
        self._stats = {name: int(value) for name, value in ready["stats"].items()}
        threading.Thread(target=self._watch, name="engram-local-dynamo-watch", daemon=True).start()

    def stop(self, snapshot: bool = True) -> None:
        """Write the snapshot (unless told not to), then let the child exit."""
        if self.process is None:
            return
        self._stopping = True
        with contextlib.suppress(DynamoProcessGone):
            self._call("stop", snapshot)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.error("DynamoDB's process did not stop within %.0fs; killing it", STOP_SECONDS)
            self.process.kill()
            self.process.wait()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def kill(self) -> None:
        """Kill the child at once, as a crash would (tests)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    # ---- LocalDynamo's surface --------------------------------------------------------------

    def call(self, operation: str, body: dict[str, Any], streams: bool = False, ttl: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._call("call", operation, body, streams, ttl)
        return result

    def ensure_tables(self, tables: Iterable[TableSpec]) -> list[str]:
        warnings: list[str] = self._call("ensure_tables", list(tables))
        return warnings

    def describe(self, table_name: str) -> dict[str, Any]:
        table: dict[str, Any] = self._call("describe", table_name)
        return table

    def snapshot_now(self) -> None:
        self._call("snapshot_now")

    def latest_position(self) -> int:
        return int(self._call("latest_position"))

    def close_subscriptions(self) -> None:
        self._call("close_subscriptions")

    def expired_keys(self, table_name: str, attribute: str, now: float) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = self._call("expired_keys", table_name, attribute, now)
        return keys

    def stream_log(self, table_name: str) -> RemoteStreamLog:
        return RemoteStreamLog(self, table_name)

    # ---- calls ------------------------------------------------------------------------------

    def _call(self, method: str, *args: Any) -> Any:
        """One call on the child, on this thread's own connection (calls may block: a stream pump
        waits for writes), answered in order."""
        connection: Connection | None = getattr(self._local, "connection", None)
        try:
            if connection is None:
                connection = no_delay(Client(self._address, authkey=self._key))
                self._local.connection = connection
                with self._lock:
                    self._connections.append(connection)
            connection.send((method, args, {}))
            status, *payload = connection.recv()
        except (OSError, EOFError, AuthenticationError) as exc:
            self._local.connection = None
            raise DynamoProcessGone(method, 503, {"message": f"DynamoDB's process is not answering: {exc}"}) from exc
        if status == "ok":
            return payload[0]
        kind, message, details = payload
        if kind == "DynamoError" and details is not None:
            raise DynamoError(*details)
        raise DynamoError(method, 500, {"message": f"{kind}: {message}"})

    def _watch(self) -> None:
        assert self.process is not None
        code = self.process.wait()
        if not self._stopping:
            log.error("DynamoDB's process exited unexpectedly (exit code %s)", code)
            if self._on_exit is not None:
                self._on_exit(code)


class RemoteChanges:
    """:class:`~engram.local.dynamo.ChangeFeed`'s surface, for the child's feed."""

    def __init__(self, dynamo: DynamoProcess) -> None:
        self._dynamo = dynamo

    @property
    def generation(self) -> int:
        return int(self._dynamo._call("generation"))

    def wait_past(self, generation: int, timeout: float, stop: threading.Event | None = None) -> int:
        """Block until a write after ``generation``, :meth:`wake_all`, or the timeout. ``stop``
        is looked at before waiting (the child cannot see it); stopping calls wake_all."""
        if stop is not None and stop.is_set():
            return self.generation
        return int(self._dynamo._call("wait_past", generation, timeout))

    def wake_all(self) -> None:
        """Release every waiter, now and from now on (only stopping does this)."""
        with contextlib.suppress(DynamoProcessGone):
            self._dynamo._call("wake_all")


class RemoteStreamLog:
    """:class:`~engram.local.stream_log.StreamLog`'s surface, for one table's log in the child."""

    def __init__(self, dynamo: DynamoProcess, table_name: str) -> None:
        self._dynamo = dynamo
        self.table_name = table_name

    def read(self, after: int, limit: int) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._dynamo._call("log_read", self.table_name, after, limit)
        return records

    def oldest(self) -> int | None:
        oldest: int | None = self._dynamo._call("log_oldest", self.table_name)
        return oldest

    def subscribe(self, name: str, position: int) -> None:
        self._dynamo._call("log_subscribe", self.table_name, name, position)

    def advance(self, name: str, position: int) -> None:
        self._dynamo._call("log_advance", self.table_name, name, position)

    def pending(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._dynamo._call("log_pending", self.table_name)
        return records

    def __len__(self) -> int:
        return int(self._dynamo._call("log_length", self.table_name))


# ---- the child's side ---------------------------------------------------------------------


class _Storage:
    """What the child serves: a LocalDynamo, its stream logs and its change feed."""

    def __init__(self, dynamo: Any) -> None:
        self._dynamo = dynamo
        self._released = threading.Event()
        self.stopped = threading.Event()

    def call(self, operation: str, body: dict[str, Any], streams: bool, ttl: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._dynamo.call(operation, body, streams=streams, ttl=ttl)
        return result

    def ensure_tables(self, tables: list[TableSpec]) -> list[str]:
        warnings: list[str] = self._dynamo.ensure_tables(tables)
        return warnings

    def describe(self, table_name: str) -> dict[str, Any]:
        table: dict[str, Any] = self._dynamo.describe(table_name)
        return table

    def snapshot_now(self) -> None:
        self._dynamo.snapshot_now()

    def latest_position(self) -> int:
        return int(self._dynamo.latest_position())

    def close_subscriptions(self) -> None:
        self._dynamo.close_subscriptions()

    def expired_keys(self, table_name: str, attribute: str, now: float) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = self._dynamo.expired_keys(table_name, attribute, now)
        return keys

    def log_read(self, table_name: str, after: int, limit: int) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._dynamo.stream_log(table_name).read(after, limit)
        return records

    def log_oldest(self, table_name: str) -> int | None:
        oldest: int | None = self._dynamo.stream_log(table_name).oldest()
        return oldest

    def log_subscribe(self, table_name: str, name: str, position: int) -> None:
        self._dynamo.stream_log(table_name).subscribe(name, position)

    def log_advance(self, table_name: str, name: str, position: int) -> None:
        self._dynamo.stream_log(table_name).advance(name, position)

    def log_pending(self, table_name: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._dynamo.stream_log(table_name).pending()
        return records

    def log_length(self, table_name: str) -> int:
        return len(self._dynamo.stream_log(table_name))

    def generation(self) -> int:
        return int(self._dynamo.changes.generation)

    def wait_past(self, generation: int, timeout: float) -> int:
        return int(self._dynamo.changes.wait_past(generation, timeout, self._released))

    def wake_all(self) -> None:
        self._released.set()
        self._dynamo.changes.wake_all()

    def stop(self, snapshot: bool) -> None:
        self.wake_all()
        self._dynamo.stop(snapshot=snapshot)
        self.stopped.set()


def _lock_data_dir(data_dir: Path, wait_seconds: float) -> IO[bytes] | None:
    """Hold ``<data_dir>/.lock`` exclusively for as long as this process lives (None where the
    platform has no ``flock``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / LOCK_FILE).open("ab")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            if time.monotonic() >= deadline:
                handle.close()
                raise DynamoProcessError(
                    f"another Engram server is using {data_dir}; stop it, "
                    "or give this one its own directory (ENGRAM_DATA_DIR or --data-dir)"
                ) from None
            time.sleep(0.05)


def main() -> int:
    """The child: restore, serve, answer the server's calls, stop when told or orphaned."""
    from engram.local.dynamo import LocalDynamo
    from engram.local.rpc import ObjectServer, exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with_parent()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)
    # One line for the server on standard output; anything printed later goes to standard error.
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    data_dir = Path(settings["data_dir"])
    try:
        lock = _lock_data_dir(data_dir, float(settings["lock_wait"]))
        dynamo = LocalDynamo(data_dir, settings["region"], host=settings["host"], fsync=bool(settings["fsync"]))
        dynamo.start()
    except Exception as exc:  # noqa: BLE001 - reported to the server, which refuses to start
        answer.write(json.dumps({"error": str(exc) or exc.__class__.__name__}) + "\n")
        answer.close()
        return 1
    storage = _Storage(dynamo)
    server = ObjectServer(storage, METHODS, bytes.fromhex(os.environ[KEY_VARIABLE]), "dynamodb")
    server.start()
    answer.write(json.dumps({"endpoint": dynamo.endpoint, "rpc": server.address, "stats": dynamo.stats}) + "\n")
    answer.close()
    storage.stopped.wait()
    server.stop()
    if lock is not None:
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
