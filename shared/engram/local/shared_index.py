"""One local index for every process: the main process owns it and serves it on a local socket.

:class:`~engram.index.local.LocalIndex` lives in one process (it keeps the vectors in memory and
appends to its own log). The local runtime's main process keeps that single index and serves it
with :class:`IndexServer`; the handler processes' ``get_index`` returns
:class:`~engram.index.remote.RemoteIndex`, the same ``VectorIndex`` port over
``multiprocessing.connection`` (authenticated by a per-run key before anything is unpickled).
``engram reindex`` run beside a serving ``make run`` uses it too, so the index is never written by
two processes.
"""

from __future__ import annotations

import logging
import threading
from multiprocessing.connection import Connection, Listener

from engram.index.ports import VectorIndex
from engram.index.remote import METHODS, no_delay

log = logging.getLogger("engram.local.index")


class IndexServer:
    """Serves one index object to other processes, a thread per connection."""

    def __init__(self, index: VectorIndex, authkey: bytes, host: str = "127.0.0.1") -> None:
        self._index = index
        # Every handler process connects while the pool starts: see WorkerPool.start on the backlog.
        self._listener = Listener((host, 0), authkey=authkey, backlog=64)
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
                connection = no_delay(self._listener.accept())
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
