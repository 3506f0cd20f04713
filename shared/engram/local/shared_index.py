"""One local index for every worker process: the main process owns it, workers reach it by socket.

:class:`~engram.index.local.LocalIndex` lives in one process (it keeps the vectors in memory and
appends to its own log). With several handler processes the main process keeps that single index
and serves it with :class:`IndexServer`; each worker's ``get_index`` returns a :class:`RemoteIndex`,
the same ``VectorIndex`` port over ``multiprocessing.connection`` (a localhost socket,
authenticated by a per-run key before anything is unpickled). ``engram reindex`` run beside a
serving ``make run`` uses it too, so the index is never written by two processes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from engram.index import IndexDoc, IndexFilters, IndexHit, IndexUnavailable, UpsertResult, VectorIndex

log = logging.getLogger("engram.local.index")

# The port, plus what reindex and tests use on the local index.
METHODS = frozenset(
    {"ensure_index", "upsert", "delete", "knn", "text_search", "get", "count", "document", "version_of", "clear"}
)
# Errors a caller may rely on keep their type across the socket; anything else is IndexUnavailable.
PASSED_THROUGH: dict[str, type[Exception]] = {"ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError}


class IndexServer:
    """Serves one index object to other processes, a thread per connection."""

    def __init__(self, index: VectorIndex, authkey: bytes, host: str = "127.0.0.1") -> None:
        self._index = index
        self._listener = Listener((host, 0), authkey=authkey)
        host_name, port = self._listener.address
        self.address = f"{host_name}:{port}"
        self._closed = threading.Event()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="engram-local-index", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection = self._listener.accept()
            except OSError:
                return  # closed
            except Exception:  # a client that failed the key challenge, or hung up early
                log.debug("index client refused", exc_info=True)
                continue
            with self._lock:
                self._connections.append(connection)
            threading.Thread(
                target=self._serve, args=(connection,), name="engram-local-index-client", daemon=True
            ).start()

    def _serve(self, connection: Connection) -> None:
        try:
            while not self._closed.is_set():
                try:
                    method, args, kwargs = connection.recv()
                except (EOFError, OSError):
                    return
                if method not in METHODS:
                    connection.send(("error", "AttributeError", f"the index has no method {method!r}"))
                    continue
                try:
                    result = getattr(self._index, method)(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - the caller decides; the server carries on
                    connection.send(("error", exc.__class__.__name__, str(exc)))
                else:
                    connection.send(("ok", result))
        except (EOFError, OSError):
            return
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            connection.close()


class RemoteIndex:
    """The ``VectorIndex`` port, answered by the :class:`IndexServer` at ``address``."""

    def __init__(self, address: str, authkey: str) -> None:
        host, _, port = address.rpartition(":")
        self._address = (host, int(port))
        self._authkey = bytes.fromhex(authkey)
        self._local = threading.local()

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        connection: Connection | None = getattr(self._local, "connection", None)
        try:
            if connection is None:
                connection = self._local.connection = Client(self._address, authkey=self._authkey)
            connection.send((method, args, kwargs))
            status, *payload = connection.recv()
        except (OSError, EOFError, AuthenticationError) as exc:
            self._local.connection = None
            raise IndexUnavailable(f"the local index server at {self._address[0]}:{self._address[1]}: {exc}") from exc
        if status == "ok":
            return payload[0]
        kind, message = payload
        raise PASSED_THROUGH.get(kind, IndexUnavailable)(message)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # ---- the port ---------------------------------------------------------------------------

    def ensure_index(self) -> None:
        self._call("ensure_index")

    def upsert(self, docs: Sequence[IndexDoc]) -> dict[str, UpsertResult]:
        result: dict[str, UpsertResult] = self._call("upsert", list(docs))
        return result

    def delete(self, tenant_id: str, ids: Sequence[str], version: int | None = None) -> int:
        return int(self._call("delete", tenant_id, list(ids), version))

    def knn(
        self, tenant_id: str, vector: Sequence[float], k: int, filters: IndexFilters | None = None
    ) -> list[IndexHit]:
        hits: list[IndexHit] = self._call("knn", tenant_id, list(vector), k, filters)
        return hits

    def text_search(self, tenant_id: str, query: str, k: int, filters: IndexFilters | None = None) -> list[IndexHit]:
        hits: list[IndexHit] = self._call("text_search", tenant_id, query, k, filters)
        return hits

    def get(self, tenant_id: str, memory_id: str) -> IndexHit | None:
        hit: IndexHit | None = self._call("get", tenant_id, memory_id)
        return hit

    def count(self, tenant_id: str | None = None, namespace: str | None = None) -> int:
        return int(self._call("count", tenant_id, namespace))

    # ---- what reindex and tests use --------------------------------------------------------

    def document(self, tenant_id: str, memory_id: str) -> dict[str, Any] | None:
        document: dict[str, Any] | None = self._call("document", tenant_id, memory_id)
        return document

    def version_of(self, memory_id: str) -> int | None:
        version: int | None = self._call("version_of", memory_id)
        return version

    def clear(self, tenant_id: str | None = None) -> None:
        self._call("clear", tenant_id)
