"""DynamoDB Streams → Lambda, locally: a pump per stream subscription in the template.

Each pump reads its table's :class:`~engram.local.stream_log.StreamLog` and invokes the function
with Lambda's event shape. Like Lambda's event source mapping it honours ``BatchSize``,
``ReportBatchItemFailures`` (retry from the first failed record), ``MaximumRetryAttempts`` (-1:
keep retrying, which blocks the shard, as on AWS), an on-failure destination, which locally is
``<data_dir>/dlq/<FunctionLogicalId>.jsonl``, and ``StartingPosition`` for its first start.

Delivery is at least once, as on AWS: after each batch is done (delivered, or dead-lettered) the
pump's position is checkpointed to ``<data_dir>/streams/<Function>.<Event>.json``, and after a
restart, even a ``kill -9``, it resumes from there. A batch in flight when the process died is
delivered again.

Pumps wake on the write counter of :class:`~engram.local.dynamo.ChangeFeed` instead of polling
on a timer, so a record reaches its function within milliseconds and an idle server is idle.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engram.local.dynamo import DynamoError, Storage, StreamSource
from engram.local.lambdas import Invokable, describe_failure, failure_traceback
from engram.local.stream_log import TTL_USER_IDENTITY, Checkpoints, position_of
from engram.local.template import StreamSubscription

__all__ = ["TTL_USER_IDENTITY", "StreamPump"]

log = logging.getLogger("engram.local.streams")

SHARD_ID = "shardId-00000000000000000000-local"  # one shard per table locally
IDLE_POLL_SECONDS = 1.0  # a safety net only; writes wake the pumps at once
MAX_BACKOFF_SECONDS = 2.0


class _Consumer:
    """One event source mapping: a table's stream feeding one function."""

    def __init__(
        self,
        subscription: StreamSubscription,
        function: Invokable,
        table_name: str,
        dynamo: Storage,
        dlq_dir: Path,
        checkpoints: Checkpoints,
        stop: threading.Event,
    ) -> None:
        self.subscription = subscription
        self.function = function
        self.table_name = table_name
        self._dynamo = dynamo
        self._dlq_path = dlq_dir / f"{subscription.function_id}.jsonl"
        self._checkpoints = checkpoints
        self._stop = stop
        self._stream_arn = ""
        self._log: StreamSource | None = None
        self._thread: threading.Thread | None = None
        self.position = -1  # every record at or before it is done
        # The write generation that the last empty read had seen: everything written up to
        # it has been delivered. drain() compares it with the current generation.
        self.idle_generation = -1
        self.delivered = 0
        self.dead_lettered = 0

    @property
    def name(self) -> str:
        return f"{self.subscription.function_id}.{self.subscription.event_name}"

    def attach(self) -> None:
        """Resume from the checkpoint, or take the starting position now (before the API accepts
        writes, so none is missed) and checkpoint it at once."""
        description = self._dynamo.describe(self.table_name)
        arn = description.get("LatestStreamArn")
        if not arn:
            raise DynamoError("DescribeTable", 400, {"message": f"{self.table_name} has no stream"})
        self._stream_arn = str(arn)
        self._log = self._dynamo.stream_log(self.table_name)
        position = self._checkpoints.load(self.name)
        if position is None:
            oldest = self._log.oldest()
            if self.subscription.starting_position == "TRIM_HORIZON" and oldest is not None:
                position = oldest - 1
            else:
                position = self._dynamo.latest_position()
            self._checkpoints.save(self.name, position)
        self.position = position
        self._log.subscribe(self.name, position)

    def pending(self) -> list[dict[str, Any]]:
        return self._log.read(self.position, 1_000_000) if self._log is not None else []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"engram-stream-{self.name}", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        changes = self._dynamo.changes
        assert self._log is not None
        while not self._stop.is_set():
            try:
                generation = changes.generation
                batch = self._log.read(self.position, self.subscription.batch_size)
                if not batch:
                    self.idle_generation = generation
                    changes.wait_past(generation, IDLE_POLL_SECONDS, self._stop)
                    continue
            except DynamoError as exc:  # DynamoDB's process is gone: the runtime is stopping
                log.error("stream %s: reading the stream failed (%s); retrying", self.name, exc)
                self._stop.wait(1.0)
                continue
            records = [{**record, "eventSourceARN": self._stream_arn} for record in batch]
            try:
                done = self._process(records)
            except Exception:  # a pump must outlive its own bugs
                log.exception("stream %s: delivering a batch failed; retrying", self.name)
                self._stop.wait(1.0)
                continue
            if not done:
                return  # stopping mid-retry: like Lambda, the batch is delivered again after a restart
            self.position = position_of(batch[-1])
            self._checkpoints.save(self.name, self.position)
            try:
                self._log.advance(self.name, self.position)
            except DynamoError as exc:  # as above; the checkpoint already holds the position
                log.error("stream %s: releasing delivered records failed (%s)", self.name, exc)

    def _process(self, batch: list[dict[str, Any]]) -> bool:
        """Invoke until the batch succeeds or its retries run out, as Lambda's ESM does.

        Returns False if the runtime is stopping before the batch is done."""
        retries = 0
        limit = self.subscription.maximum_retry_attempts
        while batch:
            first_failure, failed, error = self._invoke(batch)
            if first_failure is None:
                self.delivered += len(batch)
                return True
            self.delivered += first_failure
            if limit >= 0 and retries >= limit:
                self._dead_letter(failed, error, retries + 1)
                return True
            retries += 1
            log.warning(
                "stream %s: %d record(s) failed (%s); retry %d%s",
                self.name,
                len(failed),
                error or "batchItemFailures",
                retries,
                "" if limit < 0 else f" of {limit}",
            )
            batch = batch[first_failure:]
            if self._stop.wait(min(MAX_BACKOFF_SECONDS, 0.05 * 2 ** (retries - 1))):
                return False
        return True

    def _invoke(self, batch: list[dict[str, Any]]) -> tuple[int | None, list[dict[str, Any]], str | None]:
        """(index of the first failed record or None, the failed records, the error if any)."""
        try:
            result = self.function.invoke({"Records": batch})
        except Exception as exc:  # noqa: BLE001 - the function's error is the batch's failure
            log.error("stream %s: handler raised %s\n%s", self.name, describe_failure(exc), failure_traceback(exc))
            return 0, batch, describe_failure(exc)
        if not self.subscription.report_batch_item_failures or not isinstance(result, dict):
            return None, [], None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None, [], None
        positions = {record["dynamodb"]["SequenceNumber"]: i for i, record in enumerate(batch)}
        indexes: list[int] = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in positions:
                # Lambda treats an unusable identifier as a failure of the whole batch.
                return 0, batch, f"invalid itemIdentifier {identifier!r}"
            indexes.append(positions[identifier])
        return min(indexes), [batch[i] for i in sorted(set(indexes))], None

    def _dead_letter(self, records: list[dict[str, Any]], error: str | None, invocations: int) -> None:
        """One line per record, shaped like Lambda's on-failure destination record."""
        self._dlq_path.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        lines = []
        for record in records:
            sequence = record["dynamodb"]["SequenceNumber"]
            arrival = datetime.fromtimestamp(
                record["dynamodb"].get("ApproximateCreationDateTime", now.timestamp()), UTC
            ).strftime("%Y-%m-%dT%H:%M:%SZ")
            response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if error is not None:
                response["functionError"] = "Unhandled"
            entry = {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": self.function.arn,
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": invocations,
                },
                "responseContext": response,
                "version": "1.0",
                "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "DDBStreamBatchInfo": {
                    "shardId": SHARD_ID,
                    "startSequenceNumber": sequence,
                    "endSequenceNumber": sequence,
                    "approximateArrivalOfFirstRecord": arrival,
                    "approximateArrivalOfLastRecord": arrival,
                    "batchSize": 1,
                    "streamArn": self._stream_arn,
                },
                "destination": self.subscription.on_failure_destination,
                "error": error,
                "record": record,
            }
            lines.append(json.dumps(entry) + "\n")
        with self._dlq_path.open("a", encoding="utf-8") as handle:
            handle.writelines(lines)
        self.dead_lettered += len(records)
        log.error(
            "stream %s: %d record(s) failed after %d invocation(s); written to %s",
            self.name,
            len(records),
            invocations,
            self._dlq_path,
        )


class StreamPump:
    """Every stream subscription of the template, each on its own thread."""

    def __init__(self, dynamo: Storage, data_dir: Path, fsync: bool = False) -> None:
        self._dynamo = dynamo
        self._dlq_dir = data_dir / "dlq"
        self._checkpoints = Checkpoints(data_dir / "streams", fsync)
        self._stop = threading.Event()
        self.consumers: list[_Consumer] = []

    def subscribe(self, subscription: StreamSubscription, function: Invokable, table_name: str) -> None:
        self.consumers.append(
            _Consumer(subscription, function, table_name, self._dynamo, self._dlq_dir, self._checkpoints, self._stop)
        )

    def start(self) -> None:
        for consumer in self.consumers:
            consumer.attach()
        self._dynamo.close_subscriptions()
        for consumer in self.consumers:
            consumer.start()

    def backlog(self) -> int:
        """Records some consumer has still to be given (after a restart: what a crash left owed)."""
        return sum(len(c.pending()) for c in self.consumers)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every record written so far (and what its handlers wrote) is delivered.

        Returns False if that did not happen within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        changes = self._dynamo.changes
        while time.monotonic() < deadline:
            generation = changes.generation
            if all(c.idle_generation >= generation for c in self.consumers):
                return True
            time.sleep(0.005)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._dynamo.changes.wake_all()
        for consumer in self.consumers:
            consumer.join(timeout)
