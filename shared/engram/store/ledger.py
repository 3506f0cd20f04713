"""DynamoLedgerRepository: governance entries (conflicts, histories, deletion receipts) in DynamoDB.

Items: pk ``<tenant>#<stream>``, sort key the entry's time-ordered id, so a stream lists newest
first with one query. ``version`` guards settling an entry (a conflict resolved once)."""

from __future__ import annotations

import builtins
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from engram.config import Settings
from engram.paging import decode_cursor, encode_cursor
from engram.ports import Listing
from engram.ports.ledger import LedgerEntry
from engram.store.base import bind, conditional_update, storage_errors
from engram.store.models import LedgerItem


def _pk(tenant_id: str, stream: str) -> str:
    return f"{tenant_id}#{stream}"


def _entry(item: LedgerItem) -> LedgerEntry:
    return LedgerEntry(
        tenant_id=item.tenant_id,
        stream=item.stream,
        entry_id=item.entry_id,
        created_at=float(item.created_at),
        body=item.body or {},
        status=item.status,
        version=int(item.version or 1),
    )


class DynamoLedgerRepository:
    def __init__(self, settings: Settings) -> None:
        bind(LedgerItem, settings.ledger_table, settings.region)

    def append(self, entry: LedgerEntry) -> bool:
        item = LedgerItem(
            pk=_pk(entry.tenant_id, entry.stream),
            entry_id=entry.entry_id,
            tenant_id=entry.tenant_id,
            stream=entry.stream,
            created_at=entry.created_at,
            body=entry.body,
            status=entry.status,
            version=entry.version,
        )
        with storage_errors():
            try:
                item.save(condition=LedgerItem.pk.does_not_exist())
            except PutError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def get(self, tenant_id: str, stream: str, entry_id: str) -> LedgerEntry | None:
        with storage_errors():
            try:
                item = LedgerItem.get(_pk(tenant_id, stream), entry_id, consistent_read=True)
            except DoesNotExist:
                return None
        return _entry(item)

    def settle(self, entry: LedgerEntry, status: str, body: dict[str, Any]) -> LedgerEntry:
        item = LedgerItem(pk=_pk(entry.tenant_id, entry.stream), entry_id=entry.entry_id)
        actions = [LedgerItem.status.set(status), LedgerItem.body.set(body), LedgerItem.version.set(entry.version + 1)]
        conditional_update(item, actions, LedgerItem.pk.exists() & (LedgerItem.version == entry.version))
        return _entry(item)

    def listing(
        self, tenant_id: str, stream: str, *, limit: int, cursor: str | None, status: str | None = None
    ) -> Listing[LedgerEntry]:
        pk = _pk(tenant_id, stream)
        start_key = None
        if cursor:
            key = decode_cursor(cursor, {"entry_id", "stream"}, lambda k: k.get("stream") == stream)
            start_key = {"pk": {"S": pk}, "entry_id": {"S": key["entry_id"]}}
        condition = (LedgerItem.status == status) if status else None
        found: builtins.list[LedgerEntry] = []
        with storage_errors():
            results = LedgerItem.query(
                pk,
                filter_condition=condition,
                scan_index_forward=False,
                last_evaluated_key=start_key,
                page_size=max(limit + 1, 25),
            )
            for item in results:
                found.append(_entry(item))
                if len(found) > limit:
                    break
        has_more = len(found) > limit
        page = found[:limit]
        next_cursor = encode_cursor({"stream": stream, "entry_id": page[-1].entry_id}) if has_more and page else None
        return Listing(page, next_cursor, has_more)

    def drop(self, tenant_id: str, stream: str) -> int:
        count = 0
        with storage_errors():
            items = builtins.list(LedgerItem.query(_pk(tenant_id, stream)))
            with LedgerItem.batch_write() as batch:
                for item in items:
                    batch.delete(item)
                    count += 1
        return count
