"""SweepService: makes the status readers already see durable, so the stream reacts to it.

Every few minutes (the template's schedule) it ends sessions idle past the inactivity timeout
with outcome ``abandoned`` and marks sessions past ``expires_at`` as ``expired``. Each change
is conditional on the session not having moved meanwhile, so a turn that lands during the
sweep wins and the session stays active.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from engram import clock
from engram.config import Settings
from engram.store.base import bind, storage_errors
from engram.store.models import SessionItem
from engram.store.sessions import ACTIVE_BUCKETS


@dataclass
class SweepReport:
    abandoned: int = 0
    expired: int = 0
    skipped: int = 0


class SweepService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        bind(SessionItem, settings.sessions_table, settings.region)

    def sweep(self, limit: int = 1000) -> SweepReport:
        now = clock.now()
        timeout = self._settings.inactivity_timeout_seconds
        report = SweepReport()
        for shard in range(ACTIVE_BUCKETS):
            bucket = f"active#{shard}"
            with storage_errors():
                expiring = list(SessionItem.active_by_expiry.query(bucket, SessionItem.expires_at <= now, limit=limit))
                idle = list(
                    SessionItem.active_by_activity.query(
                        bucket, SessionItem.last_activity_at < now - timeout, limit=limit
                    )
                )
            for item in expiring:
                self._finish(item, "expired", None, float(item.expires_at or now), report)
            expired_ids = {i.pk for i in expiring}
            for item in idle:
                if item.pk not in expired_ids:
                    self._finish(item, "ended", "abandoned", float(item.last_activity_at or now) + timeout, report)
        return report

    def _finish(
        self, item: SessionItem, status: str, outcome: str | None, ended_at: float, report: SweepReport
    ) -> None:
        actions: list[Action] = [
            SessionItem.status.set(status),
            SessionItem.ended_at.set(ended_at),
            SessionItem.updated_at.set(clock.now()),
            SessionItem.active_bucket.remove(),
            SessionItem.version.set(int(item.version or 0) + 1),
        ]
        if outcome:
            actions.append(SessionItem.outcome.set(outcome))
        unchanged = (
            (SessionItem.status == "active")
            & (SessionItem.version == int(item.version or 0))
            & (SessionItem.last_activity_at == item.last_activity_at)
        )
        with storage_errors():
            try:
                SessionItem(pk=item.pk).update(actions=actions, condition=unchanged)
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                report.skipped += 1  # it moved since we read it; the next sweep decides again
                return
        if status == "expired":
            report.expired += 1
        else:
            report.abandoned += 1
