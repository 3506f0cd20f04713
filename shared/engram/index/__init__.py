"""The vector index: the port (:mod:`engram.index.ports`, re-exported here) and the adapter picker.

Adapters:

* :class:`engram.index.local.LocalIndex` — numpy + an inverted index, persisted under
  ``settings.data_dir`` (local mode, tests);
* :class:`engram.index.opensearch.OpenSearchIndex` — Amazon OpenSearch Service / Serverless.

Services import the port module, never this package: :func:`get_index` imports adapters, and
only the composition root (:mod:`engram.container`) calls it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from engram.index.ports import IndexDoc, IndexFilters, IndexHit, IndexUnavailable, UpsertResult, VectorIndex

if TYPE_CHECKING:
    from engram.config import Settings

__all__ = ["IndexDoc", "IndexFilters", "IndexHit", "IndexUnavailable", "UpsertResult", "VectorIndex", "get_index"]

_lock = threading.Lock()
_cache: dict[tuple[str, ...], VectorIndex] = {}


def get_index(settings: Settings) -> VectorIndex:
    """One index client per configuration per process. The local index lives in one process: the
    local runtime's handler processes (and ``engram reindex`` beside it) reach it through
    :class:`~engram.index.remote.RemoteIndex` when ``ENGRAM_LOCAL_INDEX_ADDRESS`` is set."""
    if settings.index_backend == "local" and settings.local_index_address:
        key: tuple[str, ...] = ("remote", settings.local_index_address)
    elif settings.index_backend == "local":
        key = ("local", settings.data_dir)
    else:
        key = ("opensearch", settings.opensearch_endpoint, settings.opensearch_index, settings.opensearch_service)
    with _lock:
        found = _cache.get(key)
        if found is None:
            if key[0] == "remote":
                from engram.index.remote import RemoteIndex

                found = RemoteIndex(settings.local_index_address, settings.local_index_key)
            elif settings.index_backend == "local":
                from engram.index.local import LocalIndex

                found = LocalIndex(settings.data_dir)
            else:
                from engram.index.opensearch import OpenSearchIndex

                found = OpenSearchIndex.from_settings(settings)
            _cache[key] = found
        return found


def reset_indexes() -> None:
    with _lock:
        for index in _cache.values():
            close = getattr(index, "close", None)
            if callable(close):
                close()
        _cache.clear()
