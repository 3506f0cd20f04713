"""Ports: the domain types services work with, and the repository protocols that keep them.

Services depend on these (and on the index, embedder and extractor ports beside their
adapters: ``engram.index.ports``, ``engram.embed.ports``, ``engram.extract.ports``), never on
a storage SDK. ``engram.store`` implements the repositories with PynamoDB, ``engram.testing.fakes``
in memory; one contract suite (``tests/contract``) runs against both so the fake cannot drift.

The types are plain frozen dataclasses: what a service reads is what the store returned, and a
change is a new value (``dataclasses.replace``) or a ``*Changes``/``*Edit`` description that the
repository applies in one conditional write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class AlreadyClaimed(Exception):
    """A once-only write was already made (e.g. a session's outcome credited to a memory): nothing
    was written now, and nothing needs to be."""


class StaleWrite(Exception):
    """A conditional write lost: the record changed (or vanished) since it was read.

    Nothing was written. The caller re-reads and decides whether that means gone, conflict, or
    another attempt (:func:`engram.services.optimistic.optimistic`)."""


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a listing, newest first unless the method says otherwise."""

    items: list[T]
    next_cursor: str | None = None
    has_more: bool = False
    total: int = 0
