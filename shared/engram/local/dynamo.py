"""DynamoDB for local mode: moto over HTTP, made durable with a journal and snapshots.

moto keeps tables in memory only. To keep every acknowledged write across a restart (even
``kill -9``), DynamoDB requests run one at a time and, for each mutating request that succeeded,
the request is appended to a journal and handed to the kernel *before* the response goes back.
The endpoint is a small HTTP/1.1 server of its own (keep-alive: an SDK client reuses its
connections) that hands each DynamoDB request straight to moto's response class; moto's own
server would close every connection and route each request through a dispatcher and a Flask app.
Start-up loads the last snapshot, replays the journal, then writes a fresh snapshot and starts a
new journal.

Files under the data directory::

    snapshot.jsonl       header line, then one line per table and one per item
    journal-<N>.jsonl    requests applied after the snapshot whose header says next_journal=N

A snapshot is written to a temporary file and renamed into place, and the journal it replaces
is deleted only afterwards; a journal numbered below the snapshot's is stale and never replayed,
so a crash at any point neither loses nor double-applies a write.

Every journal entry carries its *write number*. The stream records a write causes are moved out
of moto into :class:`~engram.local.stream_log.StreamLog`s, positioned by that number, so replaying
the journal gives them their old positions and the consumers' checkpoints (``streams/``) stay valid
across a ``kill -9``; records no consumer has been given yet are kept in the snapshot.

Three moto behaviours would make memory and CPU grow with the data or the traffic: a
TransactWriteItems deep-copies every table it touches (to roll back), every stream record is kept
forever, and every model object moto ever makes is appended to a list on its class (for moto's
dashboard) — every item version, and the copies moto makes to answer reads (a GetItem, a Query page,
an UpdateItem's before and after), so even a read-only load grew the server by tens of KB a request.
Here a transaction backs up only the items it names, stream records leave moto as soon as they are
made, and DynamoDB's model objects are not tracked (local mode serves no moto dashboard).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import io
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from engram.local.stream_log import TTL_USER_IDENTITY, StreamLog, after_write, lambda_record
from engram.local.template import ACCOUNT_ID, TableSpec

log = logging.getLogger("engram.local.dynamo")

DYNAMODB_PREFIX = "DynamoDB_20120810."
STREAMS_PREFIX = "DynamoDBStreams_20120810."

# Requests that change state. PartiQL statements may write, so they are journaled too
# (replaying a read is harmless).
MUTATING = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "UpdateTimeToLive",
        "TagResource",
        "UntagResource",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
        "UpdateContinuousBackups",
    }
)

SNAPSHOT_FORMAT = "engram-local-snapshot"
SNAPSHOT_VERSION = 2  # 2: write numbers and undelivered stream records; 1 is still read
# Compact when the journal grows past this or past the snapshot, whichever is larger: a restart
# never replays more than it loads, and rewriting the snapshot costs a constant share of each write
# however large the data grows (a fixed threshold would rewrite a large snapshot ever more often).
JOURNAL_COMPACT_BYTES = 32 * 1024 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DynamoError(Exception):
    """A DynamoDB call made by the runtime itself failed."""

    def __init__(self, target: str, status: int, body: dict[str, Any]) -> None:
        self.target = target
        self.status = status
        self.body = body
        self.code = str(body.get("__type", "")).rpartition("#")[2]
        super().__init__(f"{target} failed ({status} {self.code}): {body.get('message', body)}")

    def rpc_details(self) -> tuple[str, int, dict[str, Any]]:
        """What rebuilds this error in another process (:mod:`engram.local.rpc`)."""
        return self.target, self.status, self.body


class ChangeFeed:
    """A counter of successful writes that stream pumps can wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def bump(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait_past(self, generation: int, timeout: float, stop: threading.Event | None = None) -> int:
        """Block until a write after ``generation``, ``stop`` is set, or the timeout."""
        with self._cond:
            self._cond.wait_for(lambda: self._generation > generation or (stop is not None and stop.is_set()), timeout)
            return self._generation

    def wake_all(self) -> None:
        """Wake every waiter so it can notice its stop event."""
        with self._cond:
            self._cond.notify_all()


class Changes(Protocol):
    """A write counter to wait on: :class:`ChangeFeed`, or DynamoDB's process's."""

    @property
    def generation(self) -> int: ...

    def wait_past(self, generation: int, timeout: float, stop: threading.Event | None = None) -> int: ...

    def wake_all(self) -> None: ...


class StreamSource(Protocol):
    """One table's stream records: a :class:`~engram.local.stream_log.StreamLog`, or one in
    DynamoDB's process."""

    def read(self, after: int, limit: int) -> list[dict[str, Any]]: ...

    def oldest(self) -> int | None: ...

    def subscribe(self, name: str, position: int) -> None: ...

    def advance(self, name: str, position: int) -> None: ...

    def pending(self) -> list[dict[str, Any]]: ...

    def __len__(self) -> int: ...


class Storage(Protocol):
    """What the runtime, the stream pumps and the TTL reaper use of local DynamoDB: a
    :class:`LocalDynamo` in the server process, or :class:`~engram.local.dynamo_process.DynamoProcess`."""

    @property
    def changes(self) -> Changes: ...

    @property
    def endpoint(self) -> str: ...

    @property
    def stats(self) -> dict[str, int]: ...

    def start(self) -> None: ...

    def stop(self, snapshot: bool = True) -> None: ...

    def call(
        self, operation: str, body: dict[str, Any], streams: bool = False, ttl: bool = False
    ) -> dict[str, Any]: ...

    def ensure_tables(self, tables: Iterable[TableSpec]) -> list[str]: ...

    def describe(self, table_name: str) -> dict[str, Any]: ...

    def snapshot_now(self) -> None: ...

    def latest_position(self) -> int: ...

    def close_subscriptions(self) -> None: ...

    def expired_keys(self, table_name: str, attribute: str, now: float) -> list[dict[str, Any]]: ...

    def stream_log(self, table_name: str) -> StreamSource: ...


@dataclass(frozen=True)
class JournalEntry:
    operation: str
    body: bytes
    number: int | None  # the write number (absent in journals written before version 2)
    created: float | None  # when the write was acknowledged
    ttl: bool = False  # a deletion made by the TTL reaper (its REMOVE record says so)


class Journal:
    """An append-only file of requests; every append is one ``write(2)`` before returning."""

    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self._fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size

    def append(self, operation: str, body: bytes, number: int, created: float, ttl: bool = False) -> None:
        entry: dict[str, Any] = {"op": operation, "body": body.decode("utf-8"), "n": number, "t": round(created, 3)}
        if ttl:
            entry["ttl"] = True
        line = json.dumps(entry) + "\n"
        data = line.encode("utf-8")
        view = memoryview(data)
        while view:  # a short write is possible for very large items
            written = os.write(self._fd, view)
            view = view[written:]
        if self._fsync:
            os.fsync(self._fd)
        self.size += len(data)

    def close(self) -> None:
        os.close(self._fd)


def read_journal(path: Path) -> Iterator[JournalEntry]:
    """Entries of a journal; a torn last line (the process died mid-write) is skipped."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                log.warning("journal %s: ignoring an incomplete last entry (line %d)", path, number)
                return
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("journal %s: skipping unreadable line %d", path, number)
                continue
            number, created = entry.get("n"), entry.get("t")
            yield JournalEntry(
                str(entry["op"]),
                str(entry["body"]).encode("utf-8"),
                None if number is None else int(number),
                None if created is None else float(created),
                bool(entry.get("ttl")),
            )


class LocalDynamo:
    """moto's DynamoDB on a local port, with durable state under ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        region: str,
        host: str = "127.0.0.1",
        port: int = 0,
        fsync: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.region = region
        self.host = host
        self.port = port
        self.changes = ChangeFeed()
        self._fsync = fsync
        # One lock for every DynamoDB request: it orders the journal exactly as moto applied
        # the requests, and moto's in-memory tables are not safe for concurrent writers anyway.
        self._lock = threading.RLock()
        self._app: WSGIApp | None = None
        self._journal: Journal | None = None
        self._journal_number = 0
        self._server: _DynamoHTTPServer | None = None
        self._handlers: dict[str, Any] = {}  # target prefix → moto's response class
        self._thread: threading.Thread | None = None
        self._stats = {"snapshot_items": 0, "replayed": 0, "replay_failures": 0, "restored_records": 0}
        self._writes = 0  # the number of the last journaled write
        self._snapshot_bytes = 0
        self.streams: dict[str, StreamLog] = {}

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._stats)

    def stream_log(self, table_name: str) -> StreamLog:
        with self._lock:
            log = self.streams.get(table_name)
            if log is None:
                log = self.streams[table_name] = StreamLog(table_name)
            return log

    def latest_position(self) -> int:
        """The stream position just past every record written so far (a LATEST iterator)."""
        with self._lock:
            return after_write(self._writes)

    def close_subscriptions(self) -> None:
        """Every stream consumer has subscribed: records of tables nobody reads are dropped."""
        with self._lock:
            logs = list(self.streams.values())
        for log in logs:
            log.close_subscriptions()

    def start(self) -> None:
        """Restore state, then serve moto on ``host:port`` (0 picks a free port)."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._app = DomainDispatcherApplication(create_backend_app)
        self._handlers = _moto_handlers()
        # moto's backends are process-wide; a runtime started earlier in this process
        # (tests, benchmarks) must not leak its tables into this one.
        self._raw("POST", "/moto-api/reset", b"", {})
        _install_item_level_transactions()
        _untrack_model_instances()
        _cache_action_names()
        _serialize_items_directly()
        _query_one_partition()
        _cache_update_expressions()
        _copy_update_trees_directly()
        _copy_update_trees_by_plan()
        _keep_stream_record_json()
        _traverse_update_trees_by_type()
        _check_update_expressions_once()
        _measure_sizes_directly()
        _convert_results_directly()
        _copy_items_directly()
        _project_top_level_attributes_directly()
        _compare_values_directly()
        _measure_items_once_per_read()
        _cache_condition_lexing()
        _cache_condition_parsing()
        _draw_request_ids_at_once()
        _compile_request_parsing()
        _skip_request_id_search_in_json()
        _set_up_requests_directly()
        self._restore()
        self._server = _DynamoHTTPServer((self.host, self.port), self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="engram-local-moto", daemon=True
        )
        self._thread.start()

    def stop(self, snapshot: bool = True) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            if self._journal is not None:
                if snapshot:
                    self._compact_locked()
                self._journal.close()
                self._journal = None
            self._app = None
        self.changes.wake_all()

    # ---- calls made by the runtime ----------------------------------------------------------

    def call(self, operation: str, body: dict[str, Any], streams: bool = False, ttl: bool = False) -> dict[str, Any]:
        """One DynamoDB (or Streams) API call, in-process, journaled like any other client's.

        ``ttl=True`` marks a deletion as the TTL service's: its REMOVE record carries DynamoDB's
        TTL identity (also when the journal is replayed)."""
        prefix = STREAMS_PREFIX if streams else DYNAMODB_PREFIX
        status, data = self._request(prefix + operation, json.dumps(body).encode("utf-8"), ttl=ttl)
        result: dict[str, Any] = json.loads(data) if data else {}
        if status != 200:
            raise DynamoError(operation, status, result)
        return result

    def ensure_tables(self, tables: Iterable[TableSpec]) -> list[str]:
        """Create the template's tables, or bring a restored table in line with the template.

        Returns warnings for differences local mode cannot migrate (a changed key schema).
        """
        existing = set(self._list_tables())
        warnings: list[str] = []
        for table in tables:
            if table.table_name not in existing:
                request = create_table_request(table.table_name, table.properties)
                self.call("CreateTable", request)
                if table.ttl_attribute:
                    self._enable_ttl(table.table_name, table.ttl_attribute)
                continue
            warnings += self._migrate(table)
        return warnings

    def describe(self, table_name: str) -> dict[str, Any]:
        table: dict[str, Any] = self.call("DescribeTable", {"TableName": table_name})["Table"]
        return table

    def snapshot_now(self) -> None:
        """Write a snapshot and start a new journal (also done at start-up and clean stop)."""
        with self._lock:
            self._compact_locked()

    # ---- requests ---------------------------------------------------------------------------

    def serve(self, environ: dict[str, Any], target: str, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        """Answer one HTTP request (``environ`` as WSGI would have it, the body already read)."""
        if not target.startswith((DYNAMODB_PREFIX, STREAMS_PREFIX)):
            app = self._app
            if app is None:
                return "503 Service Unavailable", [], b""
            return _invoke(app, environ)
        return self._dispatch(environ, target, body)

    def _request(self, target: str, body: bytes, ttl: bool = False) -> tuple[int, bytes]:
        environ = self._environ("POST", "/", body, {"X-Amz-Target": target})
        status, _, data = self._dispatch(environ, target, body, ttl=ttl)
        return int(status.split(" ", 1)[0]), data

    def _dispatch(
        self, environ: dict[str, Any], target: str, body: bytes, ttl: bool = False
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        operation = target.rpartition(".")[2]
        mutating = target.startswith(DYNAMODB_PREFIX) and operation in MUTATING
        with self._lock:
            if self._app is None:
                return "503 Service Unavailable", [], b""
            status, headers, data = self._call_moto(environ, target)
            if mutating:
                if status.startswith("200") and self._journal is not None:
                    self._writes += 1
                    created = time.time()
                    self._journal.append(operation, body, self._writes, created, ttl)
                    self._capture(self._writes, created, ttl)
                    if self._journal.size > max(JOURNAL_COMPACT_BYTES, self._snapshot_bytes):
                        self._compact_locked()
                else:
                    self._capture(None, 0.0, False)  # a failed write leaves no record
        if mutating and status.startswith("200"):
            self.changes.bump()
        return status, headers, data

    def _backend(self) -> Any:
        return _moto_types().backends[ACCOUNT_ID][self.region]

    def _capture(self, number: int | None, created: float, ttl: bool) -> None:
        """Move the stream records write ``number`` made out of moto into the stream logs
        (``None``: discard them). Caller holds the lock."""
        for table in list(self._backend().tables.values()):
            shard = table.stream_shard
            if shard is None or not shard.items:
                continue
            records, shard.items = shard.items, []
            if number is None:
                continue
            converted = []
            for index, record in enumerate(records):
                raw = stream_record_json(record)
                item = lambda_record(table.name, self.region, raw, number * 100_000 + index, created)
                if ttl and item["eventName"] == "REMOVE":
                    item["userIdentity"] = dict(TTL_USER_IDENTITY)
                converted.append(item)
            self.stream_log(table.name).append(converted)

    def expired_keys(self, table_name: str, attribute: str, now: float) -> list[dict[str, Any]]:
        """Keys of the items whose TTL attribute (epoch seconds) is before ``now``.

        Read from moto's memory rather than with a Scan: moto sorts the whole table for every
        Scan page, which a reaper running every few seconds over a large table cannot afford."""
        with self._lock:
            table = self._backend().tables.get(table_name)
            if table is None:
                return []
            keys: list[dict[str, Any]] = []
            for item in _items_of(table):
                value = item.attrs.get(attribute)
                if value is None or value.type != "N":
                    continue
                try:
                    expired = float(value.value) < now
                except ValueError:
                    continue
                if expired:
                    keys.append({name: item.attrs[name].to_json() for name in _key_names(table)})
            return keys

    def _call_moto(self, environ: dict[str, Any], target: str) -> tuple[str, list[tuple[str, str]], bytes]:
        """One DynamoDB (or Streams) request, straight to moto's response class. moto's own
        server routes it through a host-based dispatcher (which lists moto's modules on the disk
        for each request) and a Flask app (request context, CORS headers) first: together they
        cost as much as the DynamoDB work itself. Caller holds the lock."""
        ClientError, Request, HTTPException = _moto_types()[:3]

        handler = self._handlers[DYNAMODB_PREFIX if target.startswith(DYNAMODB_PREFIX) else STREAMS_PREFIX]
        request = Request(environ)
        try:
            # moto reads the headers it is given only to fill an empty body's query string; the
            # request's own give the same (a dict of them was built for every call)
            result = handler.dispatch(request, _raw_url(environ))
        except ClientError as exc:  # as moto's Flask view answers it
            result = 400, {}, exc.response["Error"]["Message"]
        except HTTPException as exc:  # as Flask answers an HTTP error raised by the view
            result = exc.code or 500, dict(exc.get_headers()), exc.get_body()
        except Exception as exc:  # a bug in moto: a 500 the SDK retries, as its server answers
            log.exception("moto failed on %s", target)
            result = (
                500,
                {},
                json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalFailure", "message": str(exc)}),
            )
        if len(result) == 3:
            status, headers, content = result
        else:
            status, headers, content = 200, {}, result
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content or b"")
        code = int(status)
        pairs = [(str(k), str(v)) for k, v in (headers or {}).items() if str(k).lower() not in _DROPPED_HEADERS]
        return f"{code} {_reason(code)}", pairs, data

    def _environ(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        all_headers = {
            "Content-Type": "application/x-amz-json-1.0",
            # moto reads the region (and service) from the SigV4 credential scope.
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/"
            f"{self.region}/dynamodb/aws4_request, SignedHeaders=host, Signature=local",
            **headers,
        }
        return wsgi_environ(method, path, "", body, list(all_headers.items()), (self.host, self.port))

    def _raw(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        assert self._app is not None
        status, _, data = _invoke(self._app, self._environ(method, path, body, headers))
        if not status.startswith("200"):
            raise DynamoError(path, int(status.split(" ", 1)[0]), {"message": data[:200]})
        return data

    def _raw_call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """A call that bypasses the journal (used while restoring)."""
        target = DYNAMODB_PREFIX + operation
        assert self._app is not None
        environ = self._environ("POST", "/", json.dumps(body).encode(), {"X-Amz-Target": target})
        status, _, data = self._call_moto(environ, target)
        result: dict[str, Any] = json.loads(data) if data else {}
        if not status.startswith("200"):
            raise DynamoError(operation, int(status.split(" ", 1)[0]), result)
        return result

    # ---- snapshot and journal ---------------------------------------------------------------

    @property
    def _snapshot_path(self) -> Path:
        return self.data_dir / "snapshot.jsonl"

    def _journal_path(self, number: int) -> Path:
        return self.data_dir / f"journal-{number}.jsonl"

    def _restore(self) -> None:
        with self._lock:
            number = self._load_snapshot() if self._snapshot_path.exists() else 0
            if number:
                self._snapshot_bytes = self._snapshot_path.stat().st_size
            journal = self._journal_path(number)
            replayed = 0
            if journal.exists():
                for entry in read_journal(journal):
                    replayed += 1
                    target = DYNAMODB_PREFIX + entry.operation
                    environ = self._environ("POST", "/", entry.body, {"X-Amz-Target": target})
                    status, _, data = self._call_moto(environ, target)
                    if not status.startswith("200"):
                        # It succeeded when journaled; say so loudly rather than stop.
                        self._stats["replay_failures"] += 1
                        log.warning("journal replay: %s failed again: %s", entry.operation, data[:300])
                        self._capture(None, 0.0, False)
                        continue
                    self._writes = entry.number if entry.number is not None else self._writes + 1
                    # The records get the positions they had before the restart.
                    self._capture(self._writes, entry.created or time.time(), entry.ttl)
            self._stats["replayed"] = replayed
            self._journal_number = number
            for stale in self.data_dir.glob("journal-*.jsonl"):
                if stale != journal:
                    stale.unlink()
            self._journal = Journal(journal, self._fsync)
            if replayed:
                self._compact_locked()

    def _load_snapshot(self) -> int:
        path = self._snapshot_path
        with path.open("rb") as handle:
            header = json.loads(handle.readline() or b"{}")
            if header.get("format") != SNAPSHOT_FORMAT:
                raise DynamoError("restore", 0, {"message": f"{path} is not a snapshot"})
            streams: dict[str, dict[str, Any]] = {}
            batch: list[tuple[str, dict[str, Any]]] = []
            complete = False
            for line in handle:
                entry = json.loads(line)
                if "table" in entry:
                    request = dict(entry["table"])
                    if request.pop("StreamSpecification", None) and entry.get("stream"):
                        # Streams are switched on after the items are loaded, so restoring
                        # does not fill the stream with a copy of every item.
                        streams[request["TableName"]] = entry["stream"]
                    self._raw_call("CreateTable", request)
                    if entry.get("ttl"):
                        self._raw_call(
                            "UpdateTimeToLive",
                            {"TableName": request["TableName"], "TimeToLiveSpecification": entry["ttl"]},
                        )
                elif "put" in entry:
                    batch.append((entry["put"], entry["item"]))
                    if len(batch) == 25:
                        self._write_batch(batch)
                        batch = []
                elif "record" in entry:
                    self.stream_log(entry["stream"]).append([entry["record"]])
                    self._stats["restored_records"] += 1
                elif entry.get("end"):
                    complete = True
            self._write_batch(batch)
        if not complete:
            raise DynamoError("restore", 0, {"message": f"{path} is incomplete"})
        for table_name, spec in streams.items():
            self._raw_call("UpdateTable", {"TableName": table_name, "StreamSpecification": spec})
        self._writes = int(header.get("last_write", 0))
        return int(header["next_journal"])

    def _write_batch(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        if not batch:
            return
        requests: dict[str, list[dict[str, Any]]] = {}
        for table_name, item in batch:
            requests.setdefault(table_name, []).append({"PutRequest": {"Item": item}})
        self._raw_call("BatchWriteItem", {"RequestItems": requests})
        self._stats["snapshot_items"] += len(batch)

    def _compact_locked(self) -> None:
        """Snapshot everything and switch to the next journal. Caller holds the lock."""
        next_number = self._journal_number + 1
        temporary = self._snapshot_path.with_suffix(".jsonl.tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            header = {
                "format": SNAPSHOT_FORMAT,
                "version": SNAPSHOT_VERSION,
                "next_journal": next_number,
                "last_write": self._writes,
                "written_at": time.time(),
            }
            handle.write(json.dumps(header) + "\n")
            tables = items = records = 0
            backend = self._backend()
            for table_name in self._list_tables(raw=True):
                description = self._raw_call("DescribeTable", {"TableName": table_name})["Table"]
                ttl = self._raw_call("DescribeTimeToLive", {"TableName": table_name})
                ttl_spec = None
                ttl_description = ttl.get("TimeToLiveDescription") or {}
                if ttl_description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
                    ttl_spec = {"AttributeName": ttl_description["AttributeName"], "Enabled": True}
                request = request_from_description(description)
                entry = {"table": request, "stream": request.get("StreamSpecification"), "ttl": ttl_spec}
                handle.write(json.dumps(entry) + "\n")
                tables += 1
                # Straight from moto's memory: paging with Scan sorts the whole table per page.
                for item in _items_of(backend.tables[table_name]):
                    handle.write(_dump({"put": table_name, "item": item.to_json()["Attributes"]}) + "\n")
                    items += 1
            for table_name, stream in self.streams.items():
                for record in stream.pending():
                    handle.write(json.dumps({"stream": table_name, "record": record}) + "\n")
                    records += 1
            handle.write(json.dumps({"end": True, "tables": tables, "items": items, "records": records}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._snapshot_path)
        _fsync_directory(self.data_dir)
        self._snapshot_bytes = self._snapshot_path.stat().st_size
        # Only now is the old journal redundant.
        old = self._journal
        self._journal = Journal(self._journal_path(next_number), self._fsync)
        if old is not None:
            old.close()
            old.path.unlink(missing_ok=True)
        self._journal_number = next_number

    def _list_tables(self, raw: bool = False) -> list[str]:
        call = self._raw_call if raw else self.call
        names: list[str] = []
        request: dict[str, Any] = {}
        while True:
            page = call("ListTables", request)
            names += page.get("TableNames", [])
            if not page.get("LastEvaluatedTableName"):
                return names
            request = {"ExclusiveStartTableName": page["LastEvaluatedTableName"]}

    def _enable_ttl(self, table_name: str, attribute: str) -> None:
        self.call(
            "UpdateTimeToLive",
            {
                "TableName": table_name,
                "TimeToLiveSpecification": {"AttributeName": attribute, "Enabled": True},
            },
        )

    def _migrate(self, table: TableSpec) -> list[str]:
        """Add what the template gained since the data was written: GSIs, a stream, TTL."""
        warnings: list[str] = []
        description = self.describe(table.table_name)
        wanted = create_table_request(table.table_name, table.properties)
        if description.get("KeySchema") != wanted["KeySchema"]:
            warnings.append(
                f"table {table.table_name}: its key schema in {self.data_dir} differs from "
                "the template; delete the data directory to start afresh"
            )
            return warnings
        have = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes") or []}
        for index in wanted.get("GlobalSecondaryIndexes", []):
            if index["IndexName"] in have:
                continue
            self.call(
                "UpdateTable",
                {
                    "TableName": table.table_name,
                    "AttributeDefinitions": wanted["AttributeDefinitions"],
                    "GlobalSecondaryIndexUpdates": [{"Create": index}],
                },
            )
        stream = wanted.get("StreamSpecification")
        current = description.get("StreamSpecification") or {}
        if stream and not current.get("StreamEnabled"):
            self.call("UpdateTable", {"TableName": table.table_name, "StreamSpecification": stream})
        if table.ttl_attribute:
            ttl = self.call("DescribeTimeToLive", {"TableName": table.table_name})
            status = (ttl.get("TimeToLiveDescription") or {}).get("TimeToLiveStatus")
            if status not in ("ENABLED", "ENABLING"):
                self._enable_ttl(table.table_name, table.ttl_attribute)
        return warnings


# --------------------------------------------------------------------------------------------
# Helpers


def create_table_request(table_name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A CreateTable request from ``AWS::DynamoDB::Table`` properties."""
    billing = str(properties.get("BillingMode", "PROVISIONED"))
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"))
    gsis = []
    for index in properties.get("GlobalSecondaryIndexes") or []:
        gsi = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
        gsi.setdefault("Projection", {"ProjectionType": "ALL"})
        if billing == "PROVISIONED":
            gsi["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
        for index in properties.get("LocalSecondaryIndexes") or []
    ]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    view = (properties.get("StreamSpecification") or {}).get("StreamViewType")
    if view:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    return request


def _throughput(value: Any) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def request_from_description(description: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable request that recreates a table as DescribeTable reports it."""
    billing = (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    properties: dict[str, Any] = {
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": description["AttributeDefinitions"],
        "BillingMode": billing,
        "ProvisionedThroughput": description.get("ProvisionedThroughput"),
        "GlobalSecondaryIndexes": description.get("GlobalSecondaryIndexes") or [],
        "LocalSecondaryIndexes": description.get("LocalSecondaryIndexes") or [],
    }
    stream = description.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        properties["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
    return create_table_request(description["TableName"], properties)


_DROPPED_HEADERS = frozenset({"status", "content-length", "connection", "transfer-encoding"})


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def wsgi_environ(
    method: str,
    path: str,
    query: str,
    body: bytes,
    headers: Iterable[tuple[str, str]],
    server: tuple[str, int],
) -> dict[str, Any]:
    """A WSGI environ for one request whose body has been read (what moto's request class and,
    for the rare call that is not DynamoDB's, its Flask app read)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": path + (f"?{query}" if query else ""),
        "REQUEST_URI": path + (f"?{query}" if query else ""),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key not in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class _DynamoHTTPServer(ThreadingHTTPServer):
    """moto's endpoint: HTTP/1.1 with keep-alive (an SDK client reuses its connections, where
    werkzeug's development server closes every one: a TCP connection and a server thread per
    DynamoDB call), each request answered by :meth:`LocalDynamo.serve`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], dynamo: LocalDynamo) -> None:
        self.dynamo = dynamo
        self._connections: dict[_DynamoRequestHandler, bool] = {}  # handler → busy
        self._connections_lock = threading.Lock()
        super().__init__(address, _DynamoRequestHandler)

    def track(self, handler: _DynamoRequestHandler, busy: bool | None) -> None:
        with self._connections_lock:
            if busy is None:
                self._connections.pop(handler, None)
            else:
                self._connections[handler] = busy

    def close_connections(self) -> None:
        """Wake the threads waiting on idle keep-alive connections (they then exit); a busy one
        finishes its request first and then finds the server stopped."""
        with self._connections_lock:
            idle = [handler for handler, busy in self._connections.items() if not busy]
        for handler in idle:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RD)


_MAX_HEADER_LINE = 65536  # the standard library's limits (http.client._MAXLINE, _MAXHEADERS)
_MAX_HEADERS = 100


class _RequestHeaders:
    """A request's headers as the ``email`` message the standard library makes reads them: in
    order, names as sent, ``get`` by any case (the first of repeated names)."""

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []
        self._first: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def __getitem__(self, name: str) -> Any:
        return self._first.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


def read_headers(rfile: Any) -> _RequestHeaders | tuple[HTTPStatus, str]:
    """A request's header block, up to the empty line, as ``http.client.parse_headers`` reads it
    (names as sent, values without leading blanks, folded lines joined, its limits); or the error
    status and message to answer (also for a line without a colon, which the ``email`` parser
    would keep as a defect)."""
    entries: list[list[str]] = []  # [name, value as sent, line endings of folds included]
    lines = 0
    while True:
        line = rfile.readline(_MAX_HEADER_LINE + 1)
        if len(line) > _MAX_HEADER_LINE:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long"
        lines += 1
        if lines > _MAX_HEADERS:  # counted as the standard library counts: the empty line too
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers"
        if line in (b"\r\n", b"\n", b""):
            break
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and entries:  # a folded continuation of the header before
            entries[-1][1] += text
            continue
        name, colon, value = text.partition(":")
        if not colon:
            return HTTPStatus.BAD_REQUEST, "Bad header line"
        entries.append([name, value.lstrip(" \t")])
    headers = _RequestHeaders()
    for name, value in entries:
        headers.add(name, value.rstrip("\r\n"))
    return headers


class _DynamoRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600  # an idle keep-alive connection is dropped after this
    disable_nagle_algorithm = True  # a response is one write; no reason to hold any
    server: _DynamoHTTPServer

    def handle(self) -> None:
        self.server.track(self, False)
        try:
            super().handle()
        finally:
            self.server.track(self, None)

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            self.close_connection = True
            return
        if not self.raw_requestline or len(self.raw_requestline) > 65536:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        self.server.track(self, True)
        try:
            self._answer()
        finally:
            self.server.track(self, False)

    def parse_request(self) -> bool:
        """The standard library's ``parse_request`` for a plain HTTP/1.x request, with the headers
        read without the ``email`` package's parser (about a twelfth of a small call's time here).
        Anything else (HTTP/0.9, an odd request line) takes the standard library's parsing."""
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return super().parse_request()
        self.requestline = requestline
        self.command, self.path, self.request_version = words
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")  # as the standard library does (gh-87389)
        headers = read_headers(self.rfile)
        if isinstance(headers, tuple):
            self.send_error(*headers)
            return False
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("Connection", "").lower()
        self.close_connection = self.request_version != "HTTP/1.1"
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = headers.get("Expect", "").lower()
        if expect == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _answer(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None and "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(length or 0))
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ = wsgi_environ(self.command, path, query, body, self.headers.items(), (str(host), int(port)))
        status, headers, data = self.server.dynamo.serve(environ, self.headers.get("X-Amz-Target", ""), body)
        lines = [f"HTTP/1.1 {status}"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append(f"Content-Length: {len(data)}")
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(65537)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the runtime logs API requests; a line per DynamoDB call is noise


def _invoke(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"], captured["headers"] = status, headers

    result = app(environ, start_response)
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return str(captured["status"]), list(captured["headers"]), data


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every filesystem supports it; the rename is still atomic
    finally:
        os.close(fd)


def _dump(value: Any) -> str:
    """JSON of moto's in-memory values (binary attributes as base64, as the API sends them)."""
    from moto.dynamodb.models.utilities import dynamo_json_dump

    return str(dynamo_json_dump(value))


def _plain_json(value: Any) -> Any:
    """A detached, JSON-ready copy (moto updates items in place; a record must not follow)."""
    return json.loads(_dump(value))


def stream_record_json(record: Any) -> dict[str, Any]:
    """A moto stream record's event name and ``dynamodb`` part, detached and JSON-ready: read back
    from the JSON moto wrote of that part to measure it (:func:`_keep_stream_record_json`), with the
    size moto then set; a record made without it is converted as a whole."""
    text = getattr(record, "_engram_dynamodb_json", None)
    if text is None:
        return dict(_plain_json(record.to_json()))
    made = record.to_json()
    dynamodb = json.loads(text)
    dynamodb["SizeBytes"] = made["dynamodb"]["SizeBytes"]
    return {"eventName": made["eventName"], "dynamodb": dynamodb}


_stream_dumps = threading.local()


def _keep_stream_record_json() -> None:
    """moto measures each stream record by writing its ``dynamodb`` part as JSON (and keeps only the
    length); local mode then wrote the whole record as JSON again and read it back, to detach it from
    moto's items. Here the JSON moto wrote is kept on the record, and the stream logs read it back
    (:func:`stream_record_json`): the same values, written once. Only the name ``dynamo_json_dump``
    in moto's table module changes (StreamRecord is its one user there). Re-check on a moto upgrade
    that ``StreamRecord.__init__`` still measures the ``dynamodb`` part last and changes only its size
    afterwards (tests/local/test_dynamo.py compares records with moto's own converted whole)."""
    from moto.dynamodb.models import table as tables

    original_init = tables.StreamRecord.__init__
    if getattr(original_init, "_engram_kept", False):
        return
    original_dump = tables.dynamo_json_dump

    def dump(value: Any) -> str:
        text = str(original_dump(value))
        _stream_dumps.text = text
        return text

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        _stream_dumps.text = None
        original_init(self, *args, **kwargs)
        text = _stream_dumps.text
        _stream_dumps.text = None
        if text is not None:
            self._engram_dynamodb_json = text

    init._engram_kept = True  # type: ignore[attr-defined]
    init._engram_original = original_init  # type: ignore[attr-defined]
    dump._engram_original = original_dump  # type: ignore[attr-defined]
    tables.dynamo_json_dump = dump  # type: ignore[assignment]
    tables.StreamRecord.__init__ = init  # type: ignore[method-assign]


def _items_of(table: Any) -> Iterator[Any]:
    """Every item of a moto table, unsorted (moto's ``all_items`` sorts)."""
    for entry in list(table.items.values()):
        if table.range_key_attr:
            yield from list(entry.values())
        else:
            yield entry


def _key_names(table: Any) -> list[str]:
    return [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])


class _MotoTypes(NamedTuple):
    client_error: Any
    request: Any
    http_exception: Any
    backends: Any  # moto's DynamoDB backends (one object for the life of the process)


@functools.cache
def _moto_types() -> _MotoTypes:
    """What every request needs from moto, imported once (an import statement in a function runs
    the import machinery on every call: a fortieth of a small call's time)."""
    from botocore.exceptions import ClientError
    from moto.core.request import Request
    from moto.dynamodb.models import dynamodb_backends
    from werkzeug.exceptions import HTTPException

    return _MotoTypes(ClientError, Request, HTTPException, dynamodb_backends)


def _moto_handlers() -> dict[str, Any]:
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    return {DYNAMODB_PREFIX: DynamoHandler, STREAMS_PREFIX: DynamoDBStreamsHandler}


# Operations whose results are items (AttributeValue maps) and plain counts; their JSON is the
# result itself, binary values in base64, as moto's shape-driven serializer writes it.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


class _NotPlain(Exception):
    pass


def _binary_as_base64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise _NotPlain()


def item_result_json(result: Any) -> str | None:
    """The JSON body of an item operation's result, or None when it holds anything but JSON's
    own types and binary values (a null, a date, a NaN): moto's serializer then writes it. A
    None among the values always writes ``null``, so only a text holding that word is searched
    for one (the search walks every value of every item)."""
    try:
        text = json.dumps(result, default=_binary_as_base64, allow_nan=False)
    except (_NotPlain, TypeError, ValueError):
        return None
    if "null" in text and _holds_none(result):
        return None  # the serializer leaves absent members out
    return text


def _holds_none(value: Any) -> bool:
    pending = [value]
    while pending:
        current = pending.pop()
        if current is None:
            return True
        if isinstance(current, dict):
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return False


def _serialize_items_directly() -> None:
    """moto writes each response by walking the operation's output shape and, for every member
    of every attribute value, trying a list of aliases: for an item read that is most of the
    cost of the call. An item operation's result is already its JSON; write that."""
    from moto.dynamodb.responses import DynamoResult

    if getattr(DynamoResult.execute_result, "_engram_direct", False):
        return
    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in ITEM_OPERATIONS:
            body = item_result_json(self.result)
            if body is not None:
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    execute_result._engram_direct = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _convert_results_directly() -> None:
    """moto turns every DynamoDB result into plain values with a recursive function that imports a
    class, checks ``datetime`` and asks ``hasattr(value, "to_json")`` at every string and number
    of every item (a tenth of a call's time; most of a large BatchGetItem's). The same conversion,
    deciding by each value's exact type: dicts, lists, moto's ``DynamoType`` and JSON's scalars
    directly, anything else (a datetime, a model object, a subclass) by moto's own function.
    Re-check on a moto upgrade that ``utilities.dynamo_to_dict`` is unchanged
    (tests/local/test_dynamo.py compares conversions with moto's own)."""
    import moto.dynamodb.responses as responses
    from moto.dynamodb.models import utilities
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = utilities.dynamo_to_dict
    if getattr(original, "_engram_direct", False):
        return
    atoms = frozenset({str, int, float, bool, bytes, type(None)})

    def dynamo_to_dict(obj: Any) -> Any:
        kind = type(obj)
        if kind in atoms:
            return obj
        if kind is dict:
            return {k: dynamo_to_dict(v) for k, v in obj.items()}
        if kind is list:
            return [dynamo_to_dict(item) for item in obj]
        if kind is DynamoType:
            value = obj.value
            if obj.type == "B":
                return {"B": value if isinstance(value, bytes) else base64.b64decode(value)}
            if obj.type == "BS":
                return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v) for v in value]}
            return {obj.type: dynamo_to_dict(value)}
        return original(obj)

    dynamo_to_dict._engram_direct = True  # type: ignore[attr-defined]
    dynamo_to_dict._engram_original = original  # type: ignore[attr-defined]
    responses.dynamo_to_dict = dynamo_to_dict
    utilities.dynamo_to_dict = dynamo_to_dict


_query_scope = threading.local()


def _query_one_partition() -> None:
    """moto answers a Query by sorting *every* item of the table first, so a query's cost grew
    with the table (a session's messages cost more the more messages all sessions had; a lookup
    on an index, the more memories every tenant had). Hand moto only the partition asked for (on a
    table's own key) or the items unsorted (on an index): after keeping the items that match, moto
    sorts them again by the table's range key, or by the index's keys and then the table's, keys
    that tell any two items apart, so the first sort never decided the order of an answer."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_engram_one_partition", False):
        return
    original_query, original_all_items = Table.query, Table.all_items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        index_name = kwargs["index_name"] if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
        if index_name:
            _query_scope.partition = (self, None, kwargs.get("hash_key_conditions") or [])
        else:
            _query_scope.partition = (self, hash_key, [])
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query_scope.partition = None

    def all_items(self: Any) -> list[Any]:
        scope = getattr(_query_scope, "partition", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        if scope[1] is None:  # a query on an index: every item, in no particular order,
            if not self.range_key_attr:
                items = list(self.items.values())
            else:
                items = [item for partition in self.items.values() for item in partition.values()]
            for name, value in scope[2]:  # less those moto is about to drop for their index key
                items = _having(items, name, value)
            return items
        entry = self.items.get(scope[1])  # the partition asked for, in no particular order
        if entry is None:
            return []
        return list(entry.values()) if self.range_key_attr else [entry]

    def _having(items: list[Any], name: str, value: Any) -> list[Any]:
        """The items whose attribute ``name`` equals ``value`` as moto compares them (type and
        value; a number by its decimal value), without building a Decimal for every string."""
        if value.type == "N":
            return [item for item in items if (found := item.attrs.get(name)) is not None and found == value]
        kind, raw = value.type, value.value
        return [
            item
            for item in items
            if (found := item.attrs.get(name)) is not None and found.type == kind and found.value == raw
        ]

    query._engram_one_partition = True  # type: ignore[attr-defined]
    query._engram_original = original_query  # type: ignore[attr-defined]
    all_items._engram_original = original_all_items  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _memoize(owner: Any, name: str, maxsize: int) -> None:
    """Replace ``owner.name`` (a pure function of its arguments) by an LRU-cached copy, once."""
    import functools

    current = getattr(owner, name)
    if getattr(current, "_engram_cached", False):
        return
    cached = functools.lru_cache(maxsize=maxsize)(current)
    cached._engram_cached = True  # type: ignore[attr-defined]
    setattr(owner, name, cached)


def _cache_update_expressions() -> None:
    """moto parses an UpdateExpression twice per UpdateItem (to check it, then to apply it); the
    tree is only read (validation works on a deep copy), so one parse per distinct expression."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    _memoize(UpdateExpressionParser, "make", 512)


def _copy_update_trees_directly() -> None:
    """moto validates an UpdateExpression on a ``copy.deepcopy`` of its parsed tree (validation
    replaces nodes in place), and the generic deep copy was half of an UpdateItem's time. The tree
    is plain ``Node`` objects, lists and strings: copy those directly (same result, the same
    sharing through the ``parent`` links); anything else still goes through ``copy.deepcopy``.
    Re-check on a moto upgrade that ``Validator.__init__`` still deep-copies with the module's
    ``deepcopy`` name (tests/local/test_dynamo.py covers the answers)."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    if getattr(validators.deepcopy, "_engram_direct", False):
        return

    atoms = frozenset({str, int, float, bool, type(None)})
    direct: dict[type, bool] = {}  # type → copied attribute by attribute (a Node with no copy hook)

    def clone(value: Any, memo: dict[int, Any]) -> Any:
        kind = type(value)
        if kind in atoms:
            return value
        found = memo.get(id(value))
        if found is not None:
            return found
        if kind is list:
            items: list[Any] = []
            memo[id(value)] = items
            items.extend([clone(v, memo) for v in value])
            return items
        plain = direct.get(kind)
        if plain is None:
            plain = direct[kind] = issubclass(kind, Node) and not hasattr(kind, "__deepcopy__")
        if not plain:
            return copy.deepcopy(value, memo)
        result = object.__new__(kind)
        memo[id(value)] = result
        attributes = result.__dict__
        for name, v in value.__dict__.items():
            attributes[name] = v if type(v) in atoms else clone(v, memo)
        return result

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return clone(value, {} if memo is None else memo)

    deepcopy._engram_direct = True  # type: ignore[attr-defined]
    validators.deepcopy = deepcopy  # type: ignore[assignment]


_TREE_COPIERS_KEPT = 1024  # parsed expressions whose copier is kept (moto's parse cache holds 512)
_TREE_COPIER_NODES = 2000  # a larger tree is copied node by node


def _copy_update_trees_by_plan() -> None:
    """moto validates each UpdateItem on a fresh copy of the expression's parsed tree (cached: one
    tree per text, only ever read), and even copied directly, node by node, the copy cost a third
    of an UpdateItem. Here each tree gets, at its first copy, a function made for it that builds
    its copy in one go: every node and list it reaches (through children and parent links alike)
    created once, each node's attributes set from its own, the same sharing. A tree holding
    anything but plain nodes, lists and scalars, or a copy into a given memo, goes through the
    direct copy. Re-check on a moto upgrade that ``Validator.__init__`` still deep-copies with the
    module's ``deepcopy`` name (tests/local/test_dynamo.py compares copies with the direct ones)."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    direct = validators.deepcopy
    if getattr(direct, "_engram_planned", False):
        return
    copiers: dict[int, tuple[Any, Callable[[], Any] | None]] = {}  # id → (the tree, kept alive; its copier)

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if memo is not None or not isinstance(value, Node):
            return direct(value, memo)
        entry = copiers.get(id(value))
        if entry is None or entry[0] is not value:
            if len(copiers) >= _TREE_COPIERS_KEPT:
                copiers.clear()
            entry = copiers[id(value)] = (value, tree_copier(value, Node))
        copier = entry[1]
        return direct(value) if copier is None else copier()

    deepcopy._engram_planned = True  # type: ignore[attr-defined]
    deepcopy._engram_direct = True  # type: ignore[attr-defined]
    deepcopy._engram_original = direct  # type: ignore[attr-defined]
    validators.deepcopy = deepcopy  # type: ignore[assignment]


_TREE_ATOMS = frozenset({str, int, float, bool, type(None)})


def tree_copier(root: Any, node_class: type) -> Callable[[], Any] | None:
    """A function that returns a new copy of ``root`` as the direct tree copy makes it (a plain
    node: a ``node_class`` without a copy hook, copied attribute by attribute; lists copied;
    scalars shared), or None when the tree holds anything else, a list inside a list, or more
    than ``_TREE_COPIER_NODES`` objects. The tree must not change afterwards."""
    index: dict[int, int] = {}  # id → number of each node and list reached
    reached: list[Any] = []
    pending = [root]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind in _TREE_ATOMS or id(value) in index:
            continue
        if kind is list:
            if any(type(v) is list for v in value):
                return None
            pending.extend(reversed(value))
        elif issubclass(kind, node_class) and not hasattr(kind, "__deepcopy__") and hasattr(value, "__dict__"):
            pending.extend(reversed(list(value.__dict__.values())))
        else:
            return None
        index[id(value)] = len(reached)
        reached.append(value)
        if len(reached) > _TREE_COPIER_NODES:
            return None
    constants: list[Any] = []

    def ref(value: Any) -> str:
        if type(value) in _TREE_ATOMS:
            constants.append(value)
            return f"K[{len(constants) - 1}]"
        return f"o{index[id(value)]}"

    nodes = [(i, value) for i, value in enumerate(reached) if type(value) is not list]
    lists = [(i, value) for i, value in enumerate(reached) if type(value) is list]
    lines = ["def copy_tree():"]
    lines += [f"    o{i} = new(C[{i}])" for i, _ in nodes]
    lines += [f"    o{i} = [{', '.join(ref(v) for v in value)}]" for i, value in lists]
    for i, value in nodes:
        attributes = ", ".join(f"{ref(name)}: {ref(v)}" for name, v in value.__dict__.items())
        lines.append(f"    o{i}.__dict__ = {{{attributes}}}")
    lines.append("    return o0")
    namespace: dict[str, Any] = {"new": object.__new__, "C": [type(value) for value in reached], "K": constants}
    exec("\n".join(lines), namespace)  # noqa: S102 - the source holds only names and indices
    copier: Callable[[], Any] = namespace["copy_tree"]
    return copier


def _traverse_update_trees_by_type() -> None:
    """moto validates an UpdateExpression with ten depth-first passes over its tree, and each pass
    rebuilds its tuple of node classes and runs two ``isinstance`` checks against abstract classes
    at every node (the passes were most of an UpdateItem's remaining time). The same walk, in the
    same order with the same hooks, deciding by each node's class once per set of classes a pass
    processes, calling a pass's per-child hook only if it has one (moto's default does nothing),
    and not calling into a child that is not a node (a name, a value); and the search for
    an expression's clauses (run from every nested node by two of the passes) likewise. Re-check on
    a moto upgrade that ``DepthFirstTraverser.traverse_node_recursively`` and ``Node.find_clauses``
    are unchanged."""
    from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
        DepthFirstTraverser,
        Expression,
        Node,
        UpdateExpressionFunction,
    )

    original = DepthFirstTraverser.traverse
    if getattr(original, "_engram_by_type", False):
        return
    is_node: dict[type, bool] = {}
    hits: dict[Any, dict[type, bool]] = {}  # the classes a pass processes → {node class: processed}
    no_hook = DepthFirstTraverser.pre_processing_of_child

    def traverse(self: Any, root: Any) -> Any:
        wanted = self.nodes_to_be_processed()
        processed = hits.get(wanted)
        if processed is None:
            if len(hits) >= 256:
                hits.clear()
            processed = hits[wanted] = {}
        # a pass without the hook (moto's does nothing) is not called for every child
        own = getattr(self, "__dict__", {})
        hooked = type(self).pre_processing_of_child is not no_hook or "pre_processing_of_child" in own
        pre_processing_of_child = self.pre_processing_of_child
        process = self.process

        def visit(node: Any, child_id: int) -> Any:  # a node
            parent = node.parent
            children = node.children
            if children is not None:
                for i, child in enumerate(children):
                    if hooked:
                        pre_processing_of_child(node, i)
                    child_kind = type(child)
                    child_is_node = is_node.get(child_kind)
                    if child_is_node is None:
                        child_is_node = is_node[child_kind] = issubclass(child_kind, Node)
                    if child_is_node:
                        visit(child, i)
            kind = type(node)
            hit = processed.get(kind)
            if hit is None:
                hit = processed[kind] = issubclass(kind, wanted)
            if hit:
                node = process(node)
                node.parent = parent
                if parent:
                    parent.children[child_id] = node
            return node

        kind = type(root)
        root_is_node = is_node.get(kind)
        if root_is_node is None:
            root_is_node = is_node[kind] = issubclass(kind, Node)
        return visit(root, -1) if root_is_node else root

    nested: dict[type, bool] = {}

    def find_clauses(self: Any, clause_types: Any) -> list[Any]:
        clauses: list[Any] = []
        for child in self.children or []:
            kind = type(child)
            if kind in clause_types:
                clauses.append(child)
                continue
            inside = nested.get(kind)
            if inside is None:
                inside = nested[kind] = issubclass(kind, (Expression, UpdateExpressionFunction))
            if inside:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    traverse._engram_by_type = True  # type: ignore[attr-defined]
    traverse._engram_original = original  # type: ignore[attr-defined]
    find_clauses._engram_original = Node.find_clauses  # type: ignore[attr-defined]
    DepthFirstTraverser.traverse = traverse
    Node.find_clauses = find_clauses


# moto's first three UpdateExpression passes: checks that read only the expression, its names and the
# table's key attributes, and change nothing (each hands back the node it was given)
_EXPRESSION_ONLY_CHECKS = ("ActionCountValidator", "OverlappingPathsValidator", "UpdateHashRangeKeyValidator")
# moto's later passes that act only on nodes of the classes they name (no per-child hook), and only
# ever put nodes of the tree or new value / missing-path nodes in their place
_NODE_CLASS_PASSES = (
    "ExpressionAttributeValueProcessor",
    "UpdateExpressionFunctionEvaluator",
    "ExecuteOperations",
    "TypeMismatchValidator",
    "EmptyStringKeyValueValidator",
)


def _check_update_expressions_once() -> None:
    """moto validates an UpdateExpression with ten passes per call; the first three (at most one
    clause of each kind, no overlapping paths, no key attribute updated) depend only on the parsed
    expression (cached: one tree per text), its ExpressionAttributeNames and the table's key
    attributes, and they only raise or hand back each node unchanged (the parser already links
    every node to its parent). Once they passed for such a combination they are skipped for it;
    a combination that failed is checked again, so it fails again with moto's own error. Re-check
    on a moto upgrade that ``UpdateExpressionValidator.get_ast_processors`` still lists them and
    what they do (tests/local/test_dynamo.py compares answers and errors with unpatched moto).

    A later pass that acts only on nodes of some classes (a function, a SET action...) is skipped
    too where the expression has no node of them, nor can an earlier pass have made one (passes put
    only the tree's own nodes, values and missing-path markers in place of those they process): it
    would walk the tree and change nothing."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DDBTypedValue, Node, NoneExistingPath  # type: ignore[attr-defined]

    cls = validators.UpdateExpressionValidator
    if getattr(cls.validate, "_engram_once", False):
        return
    checks = tuple(getattr(validators, name) for name in _EXPRESSION_ONLY_CHECKS)
    by_class = frozenset(getattr(validators, name) for name in _NODE_CLASS_PASSES)
    original_init, original_validate = cls.__init__, cls.validate
    passed: dict[tuple[Any, ...], Any] = {}  # key → the tree it was checked on (kept alive: ids stay unique)
    idle: dict[tuple[int, type, Any], tuple[Any, bool]] = {}  # (tree, pass, its classes) → (tree, nothing to do)

    def classes_in(tree: Any) -> set[type]:
        found: set[type] = {DDBTypedValue, NoneExistingPath}  # what passes may put in
        pending = [tree]
        while pending:
            node = pending.pop()
            if isinstance(node, Node):
                found.add(type(node))
                pending.extend(node.children or [])
        return found

    def nothing_to_do(source: Any, processor: Any) -> bool:
        if type(processor) not in by_class:
            return False
        wanted = processor.nodes_to_be_processed()
        key = (id(source), type(processor), wanted)
        entry = idle.get(key)
        if entry is None or entry[0] is not source:
            if len(idle) >= 4096:
                idle.clear()
            entry = idle[key] = (source, not any(issubclass(kind, wanted) for kind in classes_in(source)))
        return bool(entry[1])

    def init(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, expression, *args, **kwargs)
        self._engram_source = expression

    def validate(self: Any) -> Any:
        source = self._engram_source
        names = self.expression_attribute_names or {}
        try:
            key = (id(source), tuple(names.items()), tuple(self.table.table_key_attrs))
            hash(key)
        except TypeError:  # a name that is not a string: moto's own path
            return original_validate(self)
        if passed.get(key) is not source:
            node = original_validate(self)
            if len(passed) >= 4096:
                passed.clear()
            passed[key] = source
            return node
        node = self.node_to_validate
        for processor in self.processors:
            if not isinstance(processor, checks) and not nothing_to_do(source, processor):
                node = processor.traverse(node)
        return node

    validate._engram_once = True  # type: ignore[attr-defined]
    validate._engram_original = original_validate  # type: ignore[attr-defined]
    init._engram_original = original_init  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[method-assign]
    cls.validate = validate  # type: ignore[method-assign]


ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict limit (DynamoDB's 400 KB, as moto measured it)


def _measure_sizes_directly() -> None:
    """moto measures an item (its 400 KB limit, a read's 1 MB / 16 MB pages) with a method call and
    five type tests per attribute value, and checks the limit on every attribute it sets by
    measuring the whole item again: creating an item of n attributes measures it n times (and a
    BatchGetItem measures each item it returns twice). Here the same sizes come from
    one function that tests each value's type once, and an item being created is measured once,
    attribute by attribute, failing at the same attribute with the same error. Re-check on a moto
    upgrade that ``DynamoType.size``, ``Item.size``, ``LimitedSizeDict.__setitem__`` and
    ``Item.__init__`` are unchanged (tests/local/test_dynamo.py compares sizes with moto's)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    if getattr(DynamoType.size, "_engram_direct", False):
        return
    originals = {
        "size": DynamoType.size,
        "item_size": Item.size,
        "setitem": LimitedSizeDict.__setitem__,
        "item_init": Item.__init__,
    }
    sets = {"SS": "S", "NS": "N", "BS": "B"}

    def text_size(value: Any) -> int:  # moto's ``bytesize``
        return len(value if isinstance(value, bytes) else value.encode("utf-8"))

    def scalar_size(kind: str, value: Any) -> int:  # moto's size of ``DynamoType({kind: value})``
        if kind == "N":
            return len(str(value))
        if isinstance(value, bool):
            return 1
        return text_size(value)

    def size(self: Any) -> int:
        kind, value = self.type, self.value
        sub = sets.get(kind)
        if sub is not None:
            return sum([scalar_size(sub, v) for v in value])
        if kind == "L":
            return sum([size(v) if type(v) is DynamoType else v.size() for v in value])
        if kind == "M":
            return sum(
                [text_size(k) + (size(v) if type(v) is DynamoType else DynamoType(v).size()) for k, v in value.items()]
            )
        return scalar_size(kind, value)

    def measured(value: Any) -> int:  # an entry of a LimitedSizeDict, as its check measures it
        return size(value) if type(value) is DynamoType else text_size(str(value))

    def item_size(self: Any) -> int:
        return sum(text_size(key) + size(value) for key, value in self.attrs.items())

    def setitem(self: Any, key: str, value: Any) -> None:
        current = sum([measured(k) for k in self.keys()]) + sum([measured(v) for v in self.values()])
        if current + text_size(key) + measured(value) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        total = 0  # what moto's check measures before each attribute: those set so far (keys are unique)
        for key, raw in attrs.items():
            value = DynamoType(raw)
            added = text_size(key) + size(value)
            if total + added > ITEM_SIZE_LIMIT:
                raise ItemSizeTooLarge
            total += added
            dict.__setitem__(self.attrs, key, value)

    size._engram_direct = True  # type: ignore[attr-defined]
    size._engram_originals = originals  # type: ignore[attr-defined]
    DynamoType.size = size  # type: ignore[method-assign]
    Item.size = item_size  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign,assignment]
    Item.__init__ = item_init  # type: ignore[method-assign]


_read_sizes = threading.local()


def _measure_items_once_per_read() -> None:
    """moto measures each item a Query, Scan or BatchGetItem returns twice (to check the page's size
    limit, then to add it to the page's size), and an item's measure is most of what a page costs
    after the sort. These reads change no item, so while one runs an item's size is measured once
    and kept (with the item, so its id stays its own) until the read ends. Re-check on a moto
    upgrade that ``Table.query``, ``Table.scan`` and ``DynamoHandler.batch_get_item`` still only
    read items (tests/local/test_dynamo.py compares their answers, pages and measures)."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    measure = Item.size
    if getattr(measure, "_engram_per_read", False):
        return

    def size(self: Any) -> int:
        memo: dict[int, tuple[Any, int]] | None = getattr(_read_sizes, "memo", None)
        if memo is None:
            return int(measure(self))
        found = memo.get(id(self))
        if found is not None and found[0] is self:
            return found[1]
        value = int(measure(self))
        memo[id(self)] = (self, value)
        return value

    def reading(method: Callable[..., Any]) -> Callable[..., Any]:
        def read(*args: Any, **kwargs: Any) -> Any:
            if getattr(_read_sizes, "memo", None) is not None:  # within another read
                return method(*args, **kwargs)
            _read_sizes.memo = {}
            try:
                return method(*args, **kwargs)
            finally:
                _read_sizes.memo = None

        read.__dict__.update(method.__dict__)  # an earlier patch's marks and original stay readable
        read._engram_unmeasured = method  # type: ignore[attr-defined]
        return read

    size._engram_per_read = True  # type: ignore[attr-defined]
    size._engram_original = measure  # type: ignore[attr-defined]
    Item.size = size  # type: ignore[method-assign]
    Table.query = reading(Table.query)  # type: ignore[method-assign]
    Table.scan = reading(Table.scan)  # type: ignore[method-assign]
    DynamoHandler.batch_get_item = reading(DynamoHandler.batch_get_item)  # type: ignore[method-assign]


def _copy_items_directly() -> None:
    """moto copies an item (an UpdateItem copies it twice, a transaction backs up each item it names,
    a projection copies each attribute) with ``copy.deepcopy``, which its items and attribute values
    answer with their own ``__deepcopy__`` but reach every nested value through ``copy.deepcopy``
    again. The same copies (the same objects shared where moto's memo shares them), recursing
    directly into nested attribute values; anything else inside still goes through ``copy.deepcopy``.
    Re-check on a moto upgrade that ``DynamoType.__deepcopy__`` and ``Item.__deepcopy__`` are
    unchanged (tests/local/test_dynamo.py compares copies with moto's)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    if getattr(DynamoType.__deepcopy__, "_engram_direct", False):
        return
    originals = {"value": DynamoType.__deepcopy__, "item": Item.__deepcopy__}
    sets = frozenset({"SS", "NS", "BS"})

    def nested(value: Any, memo: dict[int, Any]) -> Any:
        return copy_value(value, memo) if type(value) is DynamoType else copy.deepcopy(value, memo)

    def copy_value(self: Any, memo: dict[int, Any]) -> Any:
        found = memo.get(id(self))
        if found is not None:
            return found
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        kind = result.type = self.type
        value = self.value
        if kind == "L":
            result.value = [nested(v, memo) for v in value]
        elif kind == "M":
            result.value = {k: nested(v, memo) for k, v in value.items()}
        elif kind in sets:
            result.value = list(value)
        else:
            result.value = value
        return result

    def copy_item(self: Any, memo: dict[int, Any]) -> Any:
        found = memo.get(id(self))
        if found is not None:
            return found
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        result.hash_key = nested(self.hash_key, memo)
        result.range_key = nested(self.range_key, memo)
        attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(attrs)
        for key, value in self.attrs.items():
            dict.__setitem__(attrs, key, nested(value, memo))
        result.attrs = attrs
        return result

    copy_value._engram_direct = True  # type: ignore[attr-defined]
    copy_value._engram_originals = originals  # type: ignore[attr-defined]
    DynamoType.__deepcopy__ = copy_value  # type: ignore[method-assign]
    Item.__deepcopy__ = copy_item  # type: ignore[method-assign]


def _compare_values_directly() -> None:
    """moto orders and hashes attribute values (a Query sorts its partition by range key, a key finds
    its item by hash) through ``cast_value``, a property that asks five ``is_...`` methods before it
    hands back a string's own value; sorting a partition of 40 messages made 400 such calls. Here
    ``cast_value`` decides by the type's name once (a number: its Decimal; a set, list or map:
    moto's own; null: None; any other: the value), and ``<`` between two strings or two binaries
    compares their values, as moto's ``cast_value`` does for them; anything else through moto's.
    Re-check on a moto upgrade that ``DynamoType.cast_value``, ``__lt__`` and the ``is_...``
    methods are unchanged (tests/local/test_dynamo.py compares with moto's own, pairwise)."""
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DDBType, DynamoType

    original_cast, original_lt = vars(DynamoType)["cast_value"], DynamoType.__lt__
    if getattr(original_cast.fget, "_engram_direct", False):
        return
    containers = frozenset({DDBType.STRING_SET, DDBType.NUMBER_SET, DDBType.BINARY_SET, DDBType.LIST, DDBType.MAP})
    plain = frozenset({DDBType.STRING, DDBType.BINARY})
    moto_cast = original_cast.fget

    def cast_value(self: Any) -> Any:
        if type(self) is not DynamoType:
            return moto_cast(self)
        kind = self.type
        if kind == DDBType.NUMBER:
            return Decimal(self.value)
        if kind in containers:
            return moto_cast(self)
        if kind == DDBType.NULL:
            return None
        return self.value

    def less_than(self: Any, other: Any) -> Any:
        kind = self.type
        if kind in plain and type(self) is DynamoType and type(other) is DynamoType and other.type == kind:
            return self.value < other.value
        return original_lt(self, other)

    cast_value._engram_direct = True  # type: ignore[attr-defined]
    DynamoType.cast_value = property(cast_value)  # type: ignore[assignment,method-assign]
    DynamoType.__lt__ = less_than  # type: ignore[method-assign]
    less_than._engram_originals = {"cast_value": original_cast, "lt": original_lt}  # type: ignore[attr-defined]


def _project_top_level_attributes_directly() -> None:
    """moto answers a ProjectionExpression by converting the whole item to plain JSON once per
    projected attribute (a 30-attribute projection of an item with a 4 KB embedding cost three times
    the unprojected read). A projection of top-level attributes only (``a, b, #c``, no ``.`` or
    ``[i]``) copies those attributes; any other still goes through moto. Re-check on a moto upgrade
    that ``Item.project`` still takes the parsed paths (tests/local/test_dynamo.py covers answers)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    original = Item.project
    if getattr(original, "_engram_direct", False):
        return

    def copied(value: Any) -> Any:  # copy.deepcopy(value), calling DynamoType's own copy directly
        return value.__deepcopy__({}) if type(value) is DynamoType else copy.deepcopy(value)

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        if not all(len(path) == 1 and "[" not in path[0] for path in projection_expressions):
            return original(self, projection_expressions)
        result = Item(hash_key=self.hash_key, range_key=self.range_key, attrs={})
        attrs = self.attrs
        chosen = {name: copied(attrs[name]) for (name,) in projection_expressions if name in attrs}
        dict.update(result.attrs, chosen)  # a part of an item that passed moto's size check, once
        return result

    project._engram_direct = True  # type: ignore[attr-defined]
    Item.project = project  # type: ignore[method-assign]


def _cache_condition_lexing() -> None:
    """moto tokenizes a ConditionExpression with a dozen regular expressions per token on every
    call; the tokens depend on the expression's text only (names and values are looked up later)."""
    import collections
    import functools

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser._lex_condition_expression
    if getattr(original, "_engram_cached", False):
        return

    @functools.lru_cache(maxsize=1024)
    def tokens(expression: str) -> tuple[Any, ...]:
        return tuple(original(ConditionExpressionParser(expression, None, None)))

    def lex(self: Any) -> Any:
        return collections.deque(tokens(self.condition_expression))  # tokens are immutable tuples

    lex._engram_cached = True  # type: ignore[attr-defined]
    ConditionExpressionParser._lex_condition_expression = lex  # type: ignore[method-assign]


_SCALAR_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL"})


def _condition_key(parser: Any, used: tuple[str, ...]) -> tuple[Any, ...] | None:
    """What a condition's parse depends on (its text, names and the ``used`` values: those its parse
    looks up), or None where the parse is not kept: a value that is not a scalar (moto's operands
    would hold the request's own list or map, which a later update may change in place)."""
    given = parser.expression_attribute_values
    if not used:
        chosen = []
    elif type(given) is not dict or not all(placeholder in given for placeholder in used):
        return None
    else:
        chosen = [(placeholder, given[placeholder]) for placeholder in used]
    values: list[tuple[str, str, Any]] = []
    for placeholder, value in chosen:
        if type(value) is not dict or len(value) != 1:
            return None
        ((kind, raw),) = value.items()
        if kind not in _SCALAR_TYPES or type(raw) not in (str, bool):
            return None
        values.append((placeholder, kind, raw))
    names = parser.expression_attribute_names
    if names is not None and (type(names) is not dict or not all(type(v) is str for v in names.values())):
        return None
    return (parser.condition_expression, None if names is None else tuple(names.items()), tuple(values))


class _LookupsNoted(dict):  # type: ignore[type-arg]
    """A request's ExpressionAttributeValues that note which placeholders a parse looks up."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.looked_up: list[str] = []

    def __getitem__(self, placeholder: str) -> Any:
        self.looked_up.append(placeholder)
        return super().__getitem__(placeholder)


def _cache_condition_parsing() -> None:
    """moto parses a ConditionExpression (or FilterExpression) on every call, and a transaction's
    twice (once to check it, once more inside the write). The parse depends only on the text, the
    names and the values it looks up (the placeholders in the text: the same for every parse of
    that text, noted at its first); the operation it builds is only evaluated, never changed. So one
    parse per text, names and looked-up values, where those values are scalars (strings, numbers,
    binary, booleans, null: what the operation keeps of them cannot change), with the placeholders
    moto records as found: values only the UpdateExpression uses (a new timestamp each call) do not
    make a new parse. A condition that does not parse is parsed again, so it fails again with
    moto's error. Re-check on a moto upgrade that ``ConditionExpressionParser.parse`` reads the
    values only by placeholder (``_lookup_expression_attribute_value``) and that the operations in
    ``moto.dynamodb.comparisons`` are unchanged (tests/local/test_dynamo.py compares answers and
    errors with unpatched moto)."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    if getattr(original, "_engram_cached", False):
        return
    parsed: dict[tuple[Any, ...], tuple[Any, list[str], list[str]]] = {}
    looked_up: dict[str, tuple[str, ...]] = {}  # text → the value placeholders its parse looks up

    def parse(self: Any) -> Any:
        text = self.condition_expression
        if not text:
            return original(self)
        used = looked_up.get(text)
        if used is not None:
            key = _condition_key(self, used)
            found = parsed.get(key) if key is not None else None
            if found is not None:
                op, names, values = found
                self.expr_attr_names_found.extend(names)
                self.expr_attr_values_found.extend(values)
                return op
        names_before, values_before = len(self.expr_attr_names_found), len(self.expr_attr_values_found)
        given = self.expression_attribute_values
        noted = _LookupsNoted(given) if type(given) is dict else None
        if noted is not None:
            self.expression_attribute_values = noted
        try:
            op = original(self)
        finally:
            self.expression_attribute_values = given
        if noted is None and given is not None:
            return op  # values of another kind: moto's path each time
        if len(looked_up) >= 4096:
            looked_up.clear()
        used = looked_up[text] = tuple(dict.fromkeys(noted.looked_up)) if noted is not None else ()
        key = _condition_key(self, used)
        if key is None:
            return op
        if len(parsed) >= 4096:
            parsed.clear()
        parsed[key] = (
            op,
            list(self.expr_attr_names_found[names_before:]),
            list(self.expr_attr_values_found[values_before:]),
        )
        return op

    parse._engram_cached = True  # type: ignore[attr-defined]
    parse._engram_original = original  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


def _draw_request_ids_at_once() -> None:
    """moto gives every answer a 52-character request id drawn one character at a time (52 calls
    into ``random``, a tenth of a small request's time); the same alphabet and length, from moto's
    own seeded generator, in one draw."""
    import string

    import moto.core.responses as responses
    from moto.moto_api._internal import mock_random

    if getattr(responses.gen_amzn_requestid_long, "_engram_at_once", False):
        return
    pool = string.ascii_letters + string.digits  # moto's get_random_string(52), digits included

    def gen_amzn_requestid_long(headerdict: dict[str, Any] | None = None) -> str:
        request_id = "".join(mock_random.choices(pool, k=52))
        if headerdict is not None and isinstance(headerdict, dict):
            headerdict.update({"x-amzn-requestid": request_id})
        return request_id

    gen_amzn_requestid_long._engram_at_once = True  # type: ignore[attr-defined]
    responses.gen_amzn_requestid_long = gen_amzn_requestid_long  # type: ignore[assignment]


def _compile_request_parsing() -> None:
    """moto parses a DynamoDB request by walking the operation's input shape generically: for every
    member of every attribute value it looks up a handler by the shape's type name (a third of the
    request set-up's time). Here each shape gets a function, built once per shape, that does what
    moto's ``JSONParser`` handler for it does (same members, same order, same conversions; a shape
    whose handler is not one of those below goes through moto's own). Only ``DynamoHandler``
    changes. Re-check on a moto upgrade that ``BaseResponse.parse_parameters`` and the JSON
    parser's handlers are unchanged (tests/local/test_dynamo.py compares parsed requests)."""
    from moto.core import parse
    from moto.core.request import determine_request_protocol
    from moto.core.responses import PROTOCOL_PARSERS, get_service_model
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.parse_parameters
    if getattr(original, "_engram_compiled", False):
        return
    compilers = _RequestShapeCompiler()

    def parse_parameters(self: Any, request: Any) -> None:
        service_model = get_service_model(self.boto3_service_name)
        operation_model = service_model.operation_model(self._get_action())
        protocol = determine_request_protocol(service_model, request.content_type)
        parser_cls = PROTOCOL_PARSERS[protocol]
        if parser_cls is not parse.JSONParser or self.PROTOCOL_PARSER_MAP_TYPE is not dict:
            return original(self, request)
        parser = parser_cls(operation_model, map_type=dict)
        shape = operation_model.input_shape
        if shape is None:
            self.params = {}
            return None
        self.params = compilers.function(shape)(parser._parse_body_as_json(request.data))  # type: ignore[attr-defined]
        return None

    parse_parameters._engram_compiled = True  # type: ignore[attr-defined]
    parse_parameters._engram_original = original  # type: ignore[attr-defined]
    DynamoHandler.parse_parameters = parse_parameters  # type: ignore[method-assign]


# The content type every SDK sends DynamoDB (and local mode's own calls): not a form, so werkzeug's
# form parser leaves the body alone.
DYNAMODB_CONTENT_TYPE = "application/x-amz-json-1.0"


def _set_up_requests_directly() -> None:
    """moto sets up every request the same generic way, much of it for other services: werkzeug's
    form parser is run over the JSON body (it hands the stream back untouched), the URL is parsed,
    the region and the access key are searched for with regular expressions, and the Date header
    is formatted, on every call although they repeat from call to call. Here DynamoHandler's set-up
    does moto's steps in moto's order, with the form parser's result for a non-form body set
    directly (two empty forms, the body then read by werkzeug as moto reads it) and the pure
    steps kept per input (URL, region and access key per URL, User-Agent and Authorization; the
    Date header per second of moto's clock; the raw path per ``RAW_URI``). A request with another
    content type, a compressed body, or a body already read takes moto's own set-up. Re-check on
    a moto upgrade that ``BaseResponse.setup_class``, ``get_region_from_url`` and
    ``get_access_key`` are unchanged (tests/local/test_dynamo.py compares the set-up handlers)."""
    from collections import OrderedDict
    from urllib.parse import parse_qs, parse_qsl

    import moto.core.responses as responses
    import moto.iam.models as iam_models
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.setup_class
    if getattr(original, "_engram_direct", False):
        return
    base = responses.BaseResponse
    if (
        original is not base.setup_class
        or DynamoHandler.get_region_from_url is not base.get_region_from_url
        or DynamoHandler.get_access_key is not base.get_access_key
        or DynamoHandler.get_current_account is not base.get_current_account
    ):
        return  # moto's DynamoDB handler sets up requests its own way: leave it
    urls = functools.lru_cache(maxsize=256)(responses.urlparse)
    dates: dict[Any, str] = {}
    region_regex, agent_regex = DynamoHandler.region_regex, DynamoHandler.region_from_useragent_regex
    access_key_regex = DynamoHandler.access_key_regex

    @functools.lru_cache(maxsize=256)
    def region_of(full_url: str, user_agent: str, authorization: str | None, default: str) -> str:
        # moto's get_region_from_url, from what it reads
        url_match = region_regex.search(full_url)
        user_agent_match = agent_regex.search(user_agent)
        if url_match:
            return str(url_match.group(1))
        if user_agent_match:
            return str(user_agent_match.group(1))
        if authorization is not None and "AWS4" in authorization:
            return authorization.split(",")[0].split("/")[2]
        return default

    @functools.lru_cache(maxsize=256)
    def access_key_in(authorization: str) -> str | None:
        match = access_key_regex.search(authorization)
        return str(match.group(1)) if match else None

    @functools.lru_cache(maxsize=256)
    def raw_path_of(raw_uri: str) -> str:  # moto's Request.raw_path for a RAW_URI that is set
        parsed = responses.urlparse(raw_uri)
        raw_path = parsed.path if parsed.scheme else raw_uri.split("?", 1)[0]
        if not raw_path:
            return "/"
        return raw_path if raw_path.startswith("/") else f"/{raw_path}"

    def http_date_now() -> str:
        now = responses.utcnow()
        second = now.replace(microsecond=0)
        found = dates.get(second)
        if found is None:
            if len(dates) >= 16:
                dates.clear()
            found = dates[second] = responses.http_date(now)
        return found

    def read_whole_body(request: Any) -> bytes | None:
        """What werkzeug's get_data reads from an in-memory body of the length the request gives
        (cached on the request as get_data caches it, the stream left as empty as werkzeug leaves
        it), or None (nothing read) for any other."""
        environ = request.environ
        stream = environ.get("wsgi.input")
        length = environ.get("CONTENT_LENGTH")
        if (
            type(stream) is not io.BytesIO
            or type(length) is not str
            or not (length.isascii() and length.isdigit())
            or "wsgi.input_terminated" in environ
            or environ.get("HTTP_TRANSFER_ENCODING", "")
            or request.max_content_length is not None
            or "stream" in request.__dict__
        ):
            return None
        start = stream.tell()
        body = stream.read(int(length))
        if len(body) != int(length):  # werkzeug would call that a disconnect
            stream.seek(start)
            return None
        request.__dict__["stream"] = io.BytesIO()
        request._cached_data = body
        return body

    def get_access_key(self: Any) -> str:  # moto's, with the search kept per Authorization
        if "Authorization" in self.headers:
            found = access_key_in(self.headers["Authorization"])
            if found is not None:
                return found
        if self.querystring.get("AWSAccessKeyId"):
            return str(self.querystring["AWSAccessKeyId"][0])
        return "AKIAEXAMPLE"

    def setup_class(
        self: Any, request: Any, full_url: str | None = None, headers: Any = None, use_raw_body: bool | None = None
    ) -> None:
        environ = request.environ
        if (
            use_raw_body is not None
            or self.use_raw_body
            or environ.get("CONTENT_TYPE") != DYNAMODB_CONTENT_TYPE
            or (request.content_encoding == "gzip" and self.allow_request_decompression)
            or "form" in request.__dict__
            or getattr(request, "_cached_data", None) is not None
        ):
            return original(self, request, full_url, headers, use_raw_body)
        self.is_werkzeug_request = request.from_wsgi_server
        full_url = request.raw_url if full_url is None else full_url
        headers = request.headers if headers is None else headers
        self.normalized_request = request
        self.parsed_url = urls(full_url)
        querystring: dict[str, Any] = OrderedDict()
        # werkzeug's _load_form_data for a body that is not a form, then get_data
        state = request.__dict__
        body = read_whole_body(request)
        if body is None:
            state["stream"] = request.stream
        state["form"] = request.parameter_storage_class()
        state["files"] = request.parameter_storage_class()
        self.body = request.get_data() if body is None else body
        self.form_data = state["form"]
        self.raw_body = self.body
        self.body = self.body.decode("utf-8")
        querystring.update(parse_qs(self.parsed_url.query, keep_blank_values=True))
        if not querystring and self.body:
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError, AttributeError):
                querystring.update(
                    OrderedDict((key, [value]) for key, value in parse_qsl(self.body, keep_blank_values=True))
                )
        if not querystring:
            querystring.update(headers)
        with contextlib.suppress(UnicodeDecodeError):
            querystring = responses._decode_dict(querystring)
        self.uri = full_url
        self.path = self.parsed_url.path
        raw_uri = environ.get("RAW_URI", "")
        self.raw_path = raw_path_of(raw_uri) if raw_uri else request.raw_path
        self.querystring = querystring
        self.data = querystring
        self.method = request.method
        request_headers = request.headers
        self.region = region_of(
            full_url,
            request_headers.get("User-Agent", ""),
            request_headers.get("Authorization"),
            self.default_region,
        )
        self.partition = responses.get_partition(self.region)
        self.uri_match = {}
        if "host" not in request_headers:
            environ["HTTP_HOST"] = self.parsed_url.netloc
        self.headers = request_headers
        self.response_headers = {"server": "amazon.com"}
        if not self.is_werkzeug_request:
            self.response_headers["date"] = http_date_now()
        if self.automated_parameter_parsing and self._get_action():
            self.parse_parameters(request)
        self.access_key = self.get_access_key()
        # moto's get_current_account, its function looked up per call as its import does
        if "MOTO_ACCOUNT_ID" in os.environ:
            self.current_account = os.environ["MOTO_ACCOUNT_ID"]
        elif "x-moto-account-id" in self.headers:
            self.current_account = self.headers["x-moto-account-id"]
        else:
            self.current_account = iam_models.get_account_id_from(self.get_access_key())
        iam_models.mark_account_as_visited(  # looked up per call, as moto's import does
            account_id=self.current_account,
            access_key=self.access_key,
            service=self.service_name,
            region=self.region,
        )

    setup_class._engram_direct = True  # type: ignore[attr-defined]
    setup_class._engram_original = original  # type: ignore[attr-defined]
    get_access_key._engram_original = base.get_access_key  # type: ignore[attr-defined]
    DynamoHandler.setup_class = setup_class  # type: ignore[method-assign]
    DynamoHandler.get_access_key = get_access_key  # type: ignore[method-assign]


def _skip_request_id_search_in_json() -> None:
    """moto writes the request id into every answer's body with a regular expression meant for
    XML (``<RequestId>...</RequestId>``), scanning the whole JSON answer (an item with an embedding
    is kilobytes) for a tag it cannot match without. Here the scan runs only on a text that holds
    ``<RequestId>``; anything else comes back unchanged, as the expression would leave it. Only
    ``DynamoHandler`` changes. Re-check on a moto upgrade that ``BaseResponse._enrich_response``
    is unchanged (tests/local/test_dynamo.py compares answers)."""
    import re

    import moto.core.responses as responses
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler._enrich_response
    if getattr(original, "_engram_skip", False):
        return

    def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if "status" in headers:
            headers["status"] = str(headers["status"])
        request_id = responses.gen_amzn_requestid_long(headers)
        if isinstance(body, str) and "<RequestId>" in body:
            body = re.sub(r"(?<=<RequestId>).*(?=<\/RequestId>)", request_id, body)
        return headers, body

    enrich_response._engram_skip = True  # type: ignore[attr-defined]
    enrich_response._engram_original = original  # type: ignore[attr-defined]
    DynamoHandler._enrich_response = staticmethod(enrich_response)  # type: ignore[assignment]


class _RequestShapeCompiler:
    """Functions equal to moto's ``JSONParser._parse_shape(shape, value)``, one per shape name."""

    def __init__(self) -> None:
        from moto.core import parse

        self._functions: dict[str, Callable[[Any], Any]] = {}
        self._reference = parse.JSONParser(None, map_type=dict)  # type: ignore[arg-type]
        cls = parse.JSONParser
        self._known: dict[Any, Callable[[Any], Callable[[Any], Any]]] = {
            cls._parse_structure: self._structure,
            cls._parse_list: self._list,
            cls._parse_map: self._map,
            cls._default_handle: lambda shape: _identity,
            cls._parse_blob: lambda shape: parse.default_blob_parser,
            cls._parse_timestamp: lambda shape: parse.default_timestamp_parser,
            cls._parse_float: lambda shape: _to_float,
            cls._parse_integer: lambda shape: _to_int,
        }

    def function(self, shape: Any) -> Callable[[Any], Any]:
        name = shape.name
        found = self._functions.get(name) if name else None
        if found is not None:
            return found
        handler = getattr(type(self._reference), f"_parse_{shape.type_name}", type(self._reference)._default_handle)
        build = self._known.get(handler)
        if build is None:
            reference = self._reference
            return lambda value: reference._parse_shape(shape, value)
        if not name:
            return build(shape)
        slot: list[Callable[[Any], Any]] = []
        self._functions[name] = lambda value: slot[0](value)  # a recursive shape refers to itself
        slot.append(build(shape))
        self._functions[name] = slot[0]
        return slot[0]

    def _structure(self, shape: Any) -> Callable[[Any], Any]:
        if shape.is_document_type:
            return _identity
        members = [
            (name, member.serialization.get("name", name), self.function(member))
            for name, member in shape.members.items()
        ]

        def structure(value: Any) -> Any:
            if value is None:
                return None
            parsed = {}
            for name, json_name, parse_member in members:
                raw = value.get(json_name)
                if raw is not None:
                    parsed[name] = parse_member(raw)
            return parsed

        return structure

    def _list(self, shape: Any) -> Callable[[Any], Any]:
        member = self.function(shape.member)
        return lambda value: [member(item) for item in value]

    def _map(self, shape: Any) -> Callable[[Any], Any]:
        key, element = self.function(shape.key), self.function(shape.value)

        def parse_map(value: Any) -> Any:
            parsed = {}
            for k, v in value.items():
                parsed_key = key(k)
                parsed[parsed_key] = element(v)
            return parsed

        return parse_map


def _identity(value: Any) -> Any:
    return value


def _to_float(value: Any) -> Any:
    return float(value)


def _to_int(value: Any) -> Any:
    return int(value)


_URL_PARTS = (
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "RAW_URI",
    "PATH_INFO",
    "QUERY_STRING",
)


def _raw_url(environ: dict[str, Any]) -> str:
    """moto's ``Request.raw_url`` for this environ (werkzeug rebuilds it from the environ on
    every request; it depends only on these parts, which repeat from call to call)."""
    return _raw_url_of(tuple(environ.get(name) for name in _URL_PARTS))


@functools.lru_cache(maxsize=256)
def _raw_url_of(parts: tuple[Any, ...]) -> str:
    from moto.core.request import Request

    environ: dict[str, Any] = {name: value for name, value in zip(_URL_PARTS, parts, strict=True) if value is not None}
    environ["REQUEST_METHOD"] = "POST"
    return str(Request(environ).raw_url)


def _cache_action_names() -> None:
    """moto lists a response class's methods with ``inspect.getmembers`` on every request to
    find the action's, and turns the action's name into the method's character by character; a
    class's methods do not change while the server runs, and the name's spelling is a function
    of the name."""
    import moto.core.responses as responses

    _memoize(responses, "method_names_from_class", 256)
    _memoize(responses, "camelcase_to_underscores", 256)


# --------------------------------------------------------------------------------------------
# moto's model objects, untracked

TRACKED_SERVICES = ("dynamodb", "dynamodbstreams")


def _untrack_model_instances() -> None:
    """Stop moto keeping every DynamoDB model object it makes, and drop those it kept.

    moto's ``BaseModel.__new__`` appends each instance to ``cls.instances_tracked`` and nothing
    ever removes it (only ``/moto-api/reset`` clears the lists): each read's copies of the items it
    returns, each overwritten or deleted item, each stream record, for the life of the process.
    The lists feed moto's dashboard (``/moto-api/data.json``), which local mode does not serve.
    Only DynamoDB's classes change (moto's S3 walks its list to close files at reset)."""
    import moto.dynamodb.models
    import moto.dynamodbstreams.models  # noqa: F401 - registers its model classes
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import model_data

    def untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)  # type: ignore[misc] # BaseModel.__new__ without the append

    untracked_new._engram_untracked = True  # type: ignore[attr-defined]
    for service in TRACKED_SERVICES:
        models: dict[str, Any] = dict(model_data.get(service, {}))
        for model in models.values():
            for cls in [model, *_subclasses(model)]:
                if not getattr(cls.__new__, "_engram_untracked", False):
                    cls.__new__ = staticmethod(untracked_new)
                cls.instances_tracked = []


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    pending: list[type] = list(cls.__subclasses__())
    while pending:
        sub = pending.pop()
        found.append(sub)
        pending += sub.__subclasses__()
    return found


# --------------------------------------------------------------------------------------------
# moto's TransactWriteItems, with an item-level rollback

_light_copies = threading.local()


def _install_item_level_transactions() -> None:
    """moto backs a transaction up by deep-copying every table it touches, so each transaction
    costs time and memory in proportion to the whole table (an append of a message copies every
    message ever stored). Back up the items the transaction names instead, and make moto's own
    table copies (needed only to roll back) the tables themselves while it runs."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "_engram_item_level", False):
        return
    original = DynamoDBBackend.transact_write_items

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_light_copies, "active", False):
            return self
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        for name, value in self.__dict__.items():
            result.__dict__[name] = copy.deepcopy(value, memo)
        return result

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups: list[tuple[Any, Any, Any, Any]] = []
        shards: dict[str, tuple[Any, int]] = {}
        for entry in transact_items:
            found = _transaction_target(self, entry)
            if found is None:
                continue
            table, hash_key, range_key = found
            backups.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            if table.stream_shard is not None:
                shards.setdefault(table.name, (table.stream_shard, len(table.stream_shard.items)))
        _light_copies.active = True
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in reversed(backups):
                _put_back(table, hash_key, range_key, item)
            for shard, length in shards.values():
                del shard.items[length:]
            raise
        finally:
            _light_copies.active = False

    transact_write_items._engram_item_level = True  # type: ignore[attr-defined]
    Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _transaction_target(backend: Any, entry: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """(table, hash key, range key) of one transaction item, or None if moto will refuse it."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        ((kind, operation),) = entry.items()
        table = backend.tables[operation["TableName"]]
        key = operation["Item"] if kind == "Put" else operation["Key"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return table, hash_key, range_key


def _put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is not None:
        if item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item
