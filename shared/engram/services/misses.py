"""MissService: questions memory could not answer, logged (by a caller or by a search with
``log_miss``) and listed newest first, so someone can decide what to remember next."""

from __future__ import annotations

from engram import clock, errors
from engram.config import Settings
from engram.ids import new_id
from engram.models.memories import LogMiss, LogMissOut, MissesOut, MissOut
from engram.ports.memories import Miss, MissRepository


class MissService:
    def __init__(self, repo: MissRepository, settings: Settings) -> None:
        self._repo = repo
        self._settings = settings

    def log_miss(self, tenant_id: str, req: LogMiss) -> LogMissOut:
        now = clock.now()
        retention = self._settings.miss_retention_seconds
        miss = Miss(
            tenant_id=tenant_id,
            miss_id=new_id("miss"),
            query=req.query,
            created_at=now,
            session_id=req.session_id,
            context=req.context,
            purge_at=int(now + retention) if retention else None,
            namespaces=tuple(req.namespace_list()),
        )
        self._repo.add(miss)
        return LogMissOut(logged=True, miss_id=miss.miss_id)

    def list_misses(
        self, tenant_id: str, *, limit: int = 20, since: str | None = None, cursor: str | None = None
    ) -> MissesOut:
        since_ts = parse_time("since", since)
        found = self._repo.listing(tenant_id, limit=limit, since=since_ts, cursor=cursor)
        data = [miss_out(m) for m in found.items]
        total = self._repo.count(tenant_id, since_ts)
        return MissesOut(
            data=data,
            next_cursor=found.next_cursor,
            has_more=found.has_more,
            total_count=total,
            misses=data,
            count=len(data),
        )

    def window(
        self, tenant_id: str, *, namespace: str | None, since: float | None, until: float | None, cap: int
    ) -> tuple[list[Miss], bool]:
        """The newest ``cap`` misses created in [since, until] and asked in ``namespace`` (a miss
        asked in every namespace counts for each), newest first; and whether more matched."""
        found: list[Miss] = []
        cursor: str | None = None
        while True:
            page = self._repo.listing(tenant_id, limit=100, since=since, cursor=cursor)
            for m in page.items:
                if until is not None and m.created_at > until:
                    continue
                if namespace and m.namespaces and namespace not in m.namespaces:
                    continue
                if len(found) == cap:
                    return found, True
                found.append(m)
            if not page.has_more or page.next_cursor is None:
                return found, False
            cursor = page.next_cursor


def parse_time(name: str, value: str | None) -> float | None:
    if not value:
        return None
    try:
        return clock.parse_iso(value)
    except ValueError as exc:
        raise errors.ValidationFailed(f"{name} must be an ISO-8601 date or datetime") from exc


def miss_out(m: Miss) -> MissOut:
    return MissOut(
        id=m.miss_id,
        query=m.query,
        session_id=m.session_id,
        context=m.context,
        namespaces=list(m.namespaces),
        created_at=clock.iso(m.created_at),
    )
