"""RemoteIndex: the ``VectorIndex`` port answered by an index another process owns.

The local index (:class:`~engram.index.local.LocalIndex`) keeps its vectors in one process's memory
and appends to its own log, so exactly one process may own it. The local runtime's main process does
(:mod:`engram.local.shared_index` serves it); its handler processes, and ``engram reindex`` run beside
it, get this adapter from ``get_index`` when ``ENGRAM_LOCAL_INDEX_ADDRESS`` is set. Calls travel over
``multiprocessing.connection`` on a localhost socket, authenticated by a per-run key (HMAC challenge)
before anything is unpickled.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Sequence
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection
from typing import Any

from engram.index.ports import IndexDoc, IndexFilters, IndexHit, IndexUnavailable, UpsertResult

# The port, plus what reindex and tests use on the local index.
METHODS = frozenset(
    {"ensure_index", "upsert", "delete", "knn", "text_search", "get", "count", "document", "version_of", "clear"}
)
# Errors a caller may rely on keep their type across the socket; anything else is IndexUnavailable.
PASSED_THROUGH: dict[str, type[Exception]] = {"ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError}


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
                connection = self._local.connection = no_delay(Client(self._address, authkey=self._authkey))
            connection.send((method, args, kwargs))
            status, *payload = connection.recv()
        except (OSError, EOFError, AuthenticationError) as exc:
            self._local.connection = None
            raise IndexUnavailable(f"the local index server at {self._address[0]}:{self._address[1]}: {exc}") from exc
        if status == "ok":
            return payload[0]
        kind, message, *_ = payload
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


def no_delay(connection: Connection) -> Connection:
    """Send small messages at once (TCP_NODELAY). A message over 16 KB goes out as two writes,
    its length then its bytes, and with Nagle's algorithm the second waits for the peer to
    acknowledge the first, which it delays up to 40 ms."""
    with contextlib.suppress(OSError), socket.fromfd(connection.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection
