"""SweepService: makes the status readers already see durable, so the stream reacts to it.

Every few minutes (the template's schedule) it ends sessions idle past the inactivity timeout
with outcome ``abandoned`` and marks sessions past ``expires_at`` as ``expired``. Each change
is conditional on the session not having moved meanwhile, so a turn that lands during the
sweep wins and the session stays active.
"""

from __future__ import annotations

from dataclasses import dataclass

from engram import clock
from engram.config import Settings
from engram.ports.sessions import Ending, Session, SessionRepository


@dataclass
class SweepReport:
    abandoned: int = 0
    expired: int = 0
    skipped: int = 0


class SweepService:
    def __init__(self, repo: SessionRepository, settings: Settings) -> None:
        self._repo = repo
        self._settings = settings

    def sweep(self, limit: int = 1000) -> SweepReport:
        now = clock.now()
        timeout = self._settings.inactivity_timeout_seconds
        report = SweepReport()
        expiring = self._repo.expired_active(now, limit)
        idle = self._repo.idle_active(now - timeout, limit)
        for session in expiring:
            self._finish(session, Ending("expired", float(session.expires_at or now)), report)
        expired = {(s.tenant_id, s.session_id) for s in expiring}
        for session in idle:
            if (session.tenant_id, session.session_id) not in expired:
                ended_at = float(session.last_activity_at or now) + timeout
                self._finish(session, Ending("ended", ended_at, outcome="abandoned"), report)
        return report

    def _finish(self, session: Session, ending: Ending, report: SweepReport) -> None:
        if not self._repo.finish_idle(session, ending, now=clock.now()):
            report.skipped += 1  # it moved since we read it; the next sweep decides again
        elif ending.status == "expired":
            report.expired += 1
        else:
            report.abandoned += 1
