"""Serving one object's methods to the local runtime's other processes, and outliving no parent.

:class:`ObjectServer` answers calls of an allowed set of methods on ``multiprocessing.connection``
(a localhost socket, authenticated by a per-run key with an HMAC challenge before anything is
unpickled), a thread per connection. The handler processes reach the local index this way
(:mod:`engram.local.shared_index`), and the main process reaches DynamoDB's process
(:mod:`engram.local.dynamo_process`).

A call is ``(method, args, kwargs)``; the answer ``("ok", result)`` or ``("error", class name,
message, details)``, where ``details`` is what the error class's ``rpc_details()`` returns (or
None), so a caller can rebuild an error it relies on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from multiprocessing.connection import Connection, Listener

from engram.index.remote import no_delay

log = logging.getLogger("engram.local.rpc")


class ObjectServer:
    """Serves ``methods`` of ``target`` to other processes, a thread per connection."""

    def __init__(
        self, target: object, methods: Iterable[str], authkey: bytes, name: str, host: str = "127.0.0.1"
    ) -> None:
        self._target = target
        self._methods = frozenset(methods)
        self._name = name
        # Every handler process may connect at once while the pool starts: a backlog of 1 would
        # drop connections the kernel had already acknowledged (see WorkerPool.start).
        self._listener = Listener((host, 0), authkey=authkey, backlog=64)
        host_name, port = self._listener.address
        self.address = f"{host_name}:{port}"
        self._closed = threading.Event()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name=f"engram-local-{name}", daemon=True)

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
                log.debug("%s client refused", self._name, exc_info=True)
                continue
            with self._lock:
                self._connections.append(connection)
            threading.Thread(
                target=self._serve, args=(connection,), name=f"engram-local-{self._name}-client", daemon=True
            ).start()

    def _serve(self, connection: Connection) -> None:
        try:
            while not self._closed.is_set():
                try:
                    method, args, kwargs = connection.recv()
                except (EOFError, OSError):
                    return
                if method not in self._methods:
                    connection.send(("error", "AttributeError", f"the {self._name} has no method {method!r}", None))
                    continue
                try:
                    result = getattr(self._target, method)(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - the caller decides; the server carries on
                    details = getattr(exc, "rpc_details", None)
                    connection.send(("error", exc.__class__.__name__, str(exc), details() if details else None))
                else:
                    connection.send(("ok", result))
        except (EOFError, OSError):
            return
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            connection.close()


def exit_with_parent(poll_seconds: float = 1.0) -> None:
    """Exit once the process that started this one is gone, whatever this process is doing.

    A child of the local runtime ignores SIGINT and SIGTERM (the main process stops it in order),
    and one still starting is not yet reading the connection whose closing would tell it; without
    this watch it would outlive a main process that was killed."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="engram-local-parent", daemon=True).start()
