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

from engram.index.ports import VectorIndex
from engram.index.remote import METHODS
from engram.local.rpc import ObjectServer


class IndexServer(ObjectServer):
    """Serves one index object to other processes, a thread per connection."""

    def __init__(self, index: VectorIndex, authkey: bytes, host: str = "127.0.0.1") -> None:
        super().__init__(index, METHODS, authkey, "index", host)
