"""Scheduled functions and DynamoDB TTL, locally.

EventBridge invokes ``Schedule``/``ScheduleV2`` functions with a "Scheduled Event"; here one
thread does the same at each function's ``rate(...)`` (``ENGRAM_LOCAL_SCHEDULE_SECONDS``
overrides every interval, for development and tests).

moto never expires items, so the same thread runs a TTL reaper: every table with TTL enabled
is searched for items whose TTL attribute (a number, epoch seconds) is in the past, and each
is deleted conditionally (an item whose TTL was just extended survives). The REMOVE records these
deletions cause carry DynamoDB's TTL identity, as the TTL service's do.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engram.local.dynamo import DynamoError, Storage
from engram.local.lambdas import Invokable, describe_failure, failure_traceback
from engram.local.template import ACCOUNT_ID, STACK_NAME, ScheduleSpec

log = logging.getLogger("engram.local.schedule")

DEFAULT_REAPER_SECONDS = 30.0  # DynamoDB's own TTL is lazier still (typically within days)


def scheduled_event(schedule: ScheduleSpec, region: str) -> Any:
    """The payload EventBridge sends, or the schedule's own ``Input`` when it has one."""
    if schedule.input is not None:
        return json.loads(schedule.input)
    rule = f"{STACK_NAME}-{schedule.function_id}{schedule.event_name}"
    kind = "schedule/default" if schedule.v2 else "rule"
    service = "scheduler" if schedule.v2 else "events"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if schedule.v2 else "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{kind}/{rule}"],
        "detail": {},
    }


class TtlReaper:
    """Deletes expired items from every table whose TTL is enabled."""

    def __init__(self, dynamo: Storage) -> None:
        self._dynamo = dynamo

    def reap(self, now: float | None = None) -> int:
        """Delete what has expired at ``now``; return how many items were deleted."""
        moment = time.time() if now is None else now
        deleted = 0
        for table_name in self._dynamo.call("ListTables", {}).get("TableNames", []):
            description = self._dynamo.call("DescribeTimeToLive", {"TableName": table_name})
            ttl = description.get("TimeToLiveDescription") or {}
            if ttl.get("TimeToLiveStatus") != "ENABLED" or not ttl.get("AttributeName"):
                continue
            deleted += self._reap_table(table_name, str(ttl["AttributeName"]), moment)
        return deleted

    def _reap_table(self, table_name: str, attribute: str, moment: float) -> int:
        names = {"#ttl": attribute}
        values = {":now": {"N": str(int(moment))}}
        deleted = 0
        for keys in self._dynamo.expired_keys(table_name, attribute, int(moment)):
            try:
                self._dynamo.call(
                    "DeleteItem",
                    {
                        "TableName": table_name,
                        "Key": keys,
                        "ConditionExpression": "#ttl < :now",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    },
                    ttl=True,
                )
                deleted += 1
            except DynamoError as exc:
                if exc.code != "ConditionalCheckFailedException":
                    raise
        return deleted


class Scheduler:
    """One thread running each job at its interval; the first run is one interval after start."""

    def __init__(self) -> None:
        self._jobs: list[tuple[str, float, Callable[[], None]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def every(self, name: str, seconds: float, job: Callable[[], None]) -> None:
        self._jobs.append((name, max(0.05, seconds), job))

    def add_function(self, schedule: ScheduleSpec, function: Invokable, seconds: float, region: str) -> None:
        def invoke() -> None:
            function.invoke(scheduled_event(schedule, region))

        self.every(f"{schedule.function_id}.{schedule.event_name}", seconds, invoke)

    @property
    def job_names(self) -> list[str]:
        return [name for name, _, _ in self._jobs]

    def run(self, name: str) -> None:
        """Run one job now (tests, and a manual trigger)."""
        for job_name, _, job in self._jobs:
            if job_name == name:
                job()
                return
        raise KeyError(name)

    def start(self) -> None:
        if self._jobs:
            self._thread = threading.Thread(target=self._loop, name="engram-local-schedule", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        start = time.monotonic()
        queue = [(start + interval, index) for index, (_, interval, _) in enumerate(self._jobs)]
        heapq.heapify(queue)
        while queue:
            due, index = queue[0]
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            heapq.heappop(queue)
            name, interval, job = self._jobs[index]
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - a failing run must not stop the schedule
                log.error("schedule %s failed: %s\n%s", name, describe_failure(exc), failure_traceback(exc))
            # Like EventBridge, the next run keeps the cadence instead of drifting after a
            # slow one; runs that were missed entirely are skipped, not bunched up.
            next_due = due + interval
            now = time.monotonic()
            if next_due <= now:
                next_due = now + interval - ((now - due) % interval)
            heapq.heappush(queue, (next_due, index))
