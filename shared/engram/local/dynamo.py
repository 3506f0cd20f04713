"""DynamoDB for local mode: moto over HTTP, made durable with a journal and snapshots.

moto keeps tables in memory only. To keep every acknowledged write across a restart (even
``kill -9``), moto's WSGI app is wrapped in a middleware that runs DynamoDB requests one at a
time and, for each mutating request that succeeded, appends the request to a journal and hands
it to the kernel *before* the response goes back. Start-up loads the last snapshot, replays
the journal, then writes a fresh snapshot and starts a new journal.

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

Two moto behaviours would make memory and CPU grow with the data: a TransactWriteItems deep-copies
every table it touches (to roll back), and every stream record is kept forever. Here a transaction
backs up only the items it names, and stream records leave moto as soon as they are made.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engram.local.stream_log import TTL_USER_IDENTITY, StreamLog, after_write, lambda_record
from engram.local.template import ACCOUNT_ID, TableSpec

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

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
        self.status = status
        self.body = body
        self.code = str(body.get("__type", "")).rpartition("#")[2]
        super().__init__(f"{target} failed ({status} {self.code}): {body.get('message', body)}")


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
        self._server: BaseWSGIServer | None = None
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
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._app = DomainDispatcherApplication(create_backend_app)
        # moto's backends are process-wide; a runtime started earlier in this process
        # (tests, benchmarks) must not leak its tables into this one.
        self._raw("POST", "/moto-api/reset", b"", {})
        _install_item_level_transactions()
        self._restore()

        class QuietHandler(MotoRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass  # the runtime logs API requests; a line per DynamoDB call is noise

        # ThreadedMotoServer builds its own app and cannot take a middleware, so this is the
        # same server it would start, serving the journaling wrapper instead.
        self._server = make_server(self.host, self.port, self._wsgi, threaded=True, request_handler=QuietHandler)
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="engram-local-moto", daemon=True
        )
        self._thread.start()

    def stop(self, snapshot: bool = True) -> None:
        if self._server is not None:
            self._server.shutdown()
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

    # ---- the WSGI middleware ----------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith((DYNAMODB_PREFIX, STREAMS_PREFIX)):
            app = self._app
            if app is None:
                start_response("503 Service Unavailable", [("Content-Length", "0")])
                return [b""]
            return app(environ, start_response)
        body = _read_body(environ)
        status, headers, data = self._dispatch(environ, target, body)
        start_response(status, headers)
        return [data]

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
                return "503 Service Unavailable", [("Content-Length", "0")], b""
            status, headers, data = _invoke(self._app, environ)
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
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT_ID][self.region]

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
                raw = _plain_json(record.to_json())
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

    def _environ(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        from werkzeug.test import EnvironBuilder

        all_headers = {
            "Content-Type": "application/x-amz-json-1.0",
            # moto reads the region (and service) from the SigV4 credential scope.
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/"
            f"{self.region}/dynamodb/aws4_request, SignedHeaders=host, Signature=local",
            **headers,
        }
        builder = EnvironBuilder(path=path, method=method, data=body, headers=list(all_headers.items()))
        try:
            environ: dict[str, Any] = builder.get_environ()
        finally:
            builder.close()
        return environ

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
        status, _, data = _invoke(self._app, environ)
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
                    assert self._app is not None
                    status, _, data = _invoke(self._app, environ)
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


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = bytes(stream.read(int(length)))
    elif environ.get("wsgi.input_terminated"):
        body = bytes(stream.read())
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


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


def _items_of(table: Any) -> Iterator[Any]:
    """Every item of a moto table, unsorted (moto's ``all_items`` sorts)."""
    for entry in list(table.items.values()):
        if table.range_key_attr:
            yield from list(entry.values())
        else:
            yield entry


def _key_names(table: Any) -> list[str]:
    return [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])


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
