"""DynamoDB Streams → Lambda, locally: a pump per stream subscription in the template.

Each pump reads its table's stream through the DynamoDB Streams API (all shards, from LATEST
when the runtime starts, so history replayed from the journal is not delivered again), and
invokes the function with Lambda's event shape. Like Lambda's event source mapping it honours
``BatchSize``, ``ReportBatchItemFailures`` (retry from the first failed record),
``MaximumRetryAttempts`` (-1: keep retrying, which blocks the shard, as on AWS) and an
on-failure destination, which locally is ``<data_dir>/dlq/<FunctionLogicalId>.jsonl``.

Pumps wake on the write counter of :class:`~engram.local.dynamo.ChangeFeed` instead of polling
on a timer, so a record reaches its function within milliseconds and an idle server is idle.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engram.local.dynamo import DynamoError, LocalDynamo
from engram.local.lambdas import LambdaFunction
from engram.local.template import StreamSubscription

log = logging.getLogger("engram.local.streams")

# What DynamoDB puts on a REMOVE record caused by TTL expiry.
TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

IDLE_POLL_SECONDS = 1.0  # a safety net only; writes wake the pumps at once
MAX_BACKOFF_SECONDS = 2.0


def _key_id(table_name: str, keys: dict[str, Any]) -> str:
    return table_name + "\x00" + json.dumps(keys, sort_keys=True)


class TtlDeletions:
    """Deletions the TTL reaper is making, so the pump can mark their REMOVE records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}

    def expect(self, table_name: str, keys: dict[str, Any]) -> None:
        with self._lock:
            key = _key_id(table_name, keys)
            self._pending[key] = self._pending.get(key, 0) + 1

    def cancel(self, table_name: str, keys: dict[str, Any]) -> None:
        self.claim(table_name, keys)

    def claim(self, table_name: str, keys: dict[str, Any]) -> bool:
        with self._lock:
            key = _key_id(table_name, keys)
            count = self._pending.get(key, 0)
            if not count:
                return False
            if count == 1:
                del self._pending[key]
            else:
                self._pending[key] = count - 1
            return True


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None


class _Consumer:
    """One event source mapping: a table's stream feeding one function."""

    def __init__(
        self,
        subscription: StreamSubscription,
        function: LambdaFunction,
        table_name: str,
        dynamo: LocalDynamo,
        dlq_dir: Path,
        ttl: TtlDeletions,
        stop: threading.Event,
    ) -> None:
        self.subscription = subscription
        self.function = function
        self.table_name = table_name
        self._dynamo = dynamo
        self._dlq_path = dlq_dir / f"{subscription.function_id}.jsonl"
        self._ttl = ttl
        self._stop = stop
        self._stream_arn = ""
        self._shards: list[_Shard] = []
        self._thread: threading.Thread | None = None
        # The write generation that the last empty read had seen: everything written up to
        # it has been delivered. drain() compares it with the current generation.
        self.idle_generation = -1
        self.delivered = 0
        self.dead_lettered = 0

    @property
    def name(self) -> str:
        return f"{self.subscription.function_id}.{self.subscription.event_name}"

    def attach(self) -> None:
        """Take LATEST iterators now, before the API accepts writes, so none is missed."""
        description = self._dynamo.describe(self.table_name)
        arn = description.get("LatestStreamArn")
        if not arn:
            raise DynamoError("DescribeTable", 400, {"message": f"{self.table_name} has no stream"})
        self._stream_arn = str(arn)
        stream = self._dynamo.call("DescribeStream", {"StreamArn": arn}, streams=True)
        self._shards = []
        for shard in stream["StreamDescription"].get("Shards", []):
            iterator = self._dynamo.call(
                "GetShardIterator",
                {"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "LATEST"},
                streams=True,
            )["ShardIterator"]
            self._shards.append(_Shard(shard["ShardId"], iterator))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"engram-stream-{self.name}", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        changes = self._dynamo.changes
        while not self._stop.is_set():
            generation = changes.generation
            try:
                got_records = self._poll_once()
            except Exception as exc:  # noqa: BLE001 - a pump must outlive a bad read
                if self._stop.is_set():
                    return
                log.warning("stream %s: reading failed (%s); re-attaching", self.name, exc)
                self._stop.wait(1.0)
                try:
                    self.attach()
                except Exception:
                    log.debug("stream %s: re-attach failed", self.name, exc_info=True)
                continue
            if not got_records:
                self.idle_generation = generation
                changes.wait_past(generation, IDLE_POLL_SECONDS, self._stop)

    def _poll_once(self) -> bool:
        got = False
        for shard in self._shards:
            if shard.iterator is None or self._stop.is_set():
                continue
            page = self._dynamo.call(
                "GetRecords",
                {"ShardIterator": shard.iterator, "Limit": self.subscription.batch_size},
                streams=True,
            )
            shard.iterator = page.get("NextShardIterator")
            records = [self._lambda_record(record) for record in page.get("Records", [])]
            if records:
                got = True
                self._process(shard.shard_id, records)
        return got

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        stream = dict(record["dynamodb"])
        created = stream.get("ApproximateCreationDateTime")
        if isinstance(created, int | float):
            stream["ApproximateCreationDateTime"] = int(created)  # Lambda sends whole seconds
        converted: dict[str, Any] = {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self._dynamo.region,
            "dynamodb": {
                key: stream[key]
                for key in (
                    "ApproximateCreationDateTime",
                    "Keys",
                    "NewImage",
                    "OldImage",
                    "SequenceNumber",
                    "SizeBytes",
                    "StreamViewType",
                )
                if key in stream
            },
            "eventSourceARN": self._stream_arn,
        }
        if record["eventName"] == "REMOVE" and self._ttl.claim(self.table_name, stream["Keys"]):
            converted["userIdentity"] = dict(TTL_USER_IDENTITY)
        return converted

    def _process(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """Invoke until the batch succeeds or its retries run out, as Lambda's ESM does."""
        retries = 0
        limit = self.subscription.maximum_retry_attempts
        while batch:
            first_failure, failed, error = self._invoke(batch)
            if first_failure is None:
                self.delivered += len(batch)
                return
            self.delivered += first_failure
            if limit >= 0 and retries >= limit:
                self._dead_letter(shard_id, failed, error, retries + 1)
                return
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
                return  # stopping: like Lambda, the records are delivered again after restart

    def _invoke(self, batch: list[dict[str, Any]]) -> tuple[int | None, list[dict[str, Any]], str | None]:
        """(index of the first failed record or None, the failed records, the error if any)."""
        try:
            result = self.function.invoke({"Records": batch})
        except Exception as exc:  # noqa: BLE001 - the function's error is the batch's failure
            log.error(
                "stream %s: handler raised %s\n%s",
                self.name,
                exc.__class__.__name__,
                "".join(traceback.format_exception(exc)).rstrip(),
            )
            return 0, batch, f"{exc.__class__.__name__}: {exc}"
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

    def _dead_letter(self, shard_id: str, records: list[dict[str, Any]], error: str | None, invocations: int) -> None:
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
                    "shardId": shard_id,
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

    def __init__(self, dynamo: LocalDynamo, dlq_dir: Path, ttl: TtlDeletions) -> None:
        self._dynamo = dynamo
        self._dlq_dir = dlq_dir
        self._ttl = ttl
        self._stop = threading.Event()
        self.consumers: list[_Consumer] = []

    def subscribe(self, subscription: StreamSubscription, function: LambdaFunction, table_name: str) -> None:
        self.consumers.append(
            _Consumer(subscription, function, table_name, self._dynamo, self._dlq_dir, self._ttl, self._stop)
        )

    def start(self) -> None:
        for consumer in self.consumers:
            consumer.attach()
        for consumer in self.consumers:
            consumer.start()

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
