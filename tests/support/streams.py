"""Read a moto table's real stream records and wrap them as Lambda's DynamoDB stream event."""

from __future__ import annotations

from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer


class StreamReader:
    """Remembers how far it has read, so each call returns only the new records."""

    def __init__(self, table_name: str) -> None:
        self.client = boto3.client("dynamodbstreams", region_name="us-east-1")
        self.arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=table_name)["Table"][
            "LatestStreamArn"
        ]
        self.iterators: dict[str, str | None] = {}

    def new_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for shard in self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.client.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self.iterators[shard_id]
            while iterator:
                page = self.client.get_records(ShardIterator=iterator)
                iterator = page.get("NextShardIterator")
                self.iterators[shard_id] = iterator
                if not page["Records"]:
                    break
                records.extend({**r, "eventSourceARN": self.arn} for r in page["Records"])
        for record in records:  # Lambda delivers ApproximateCreationDateTime as epoch seconds
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if created is not None and not isinstance(created, (int, float)):
                record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
        return records


def lambda_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def ttl_remove_record(
    old_image: dict[str, Any], keys: dict[str, Any], arn: str, sequence: str = "900000000000000000001"
) -> dict[str, Any]:
    """The record DynamoDB TTL writes when it deletes an item (moto never expires items itself)."""
    serializer = TypeSerializer()
    return {
        "eventID": "ttl-" + sequence,
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "ApproximateCreationDateTime": 1_800_000_000,
            "Keys": {k: serializer.serialize(v) for k, v in keys.items()},
            "OldImage": {k: serializer.serialize(v) for k, v in old_image.items()},
            "SequenceNumber": sequence,
            "SizeBytes": 512,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": arn,
    }


def settle_accesses() -> dict[str, Any]:
    """Deliver the memories table's stream to ``on_memory_change``, as the event source mapping
    does on AWS (and the stream pump locally): access logs written by searches, starts and turns
    are counted into their memories. Re-reads the stream from its start: each record is idempotent."""
    from engram.config import get_settings
    from tests.support.events import LambdaContext, function_module

    records = StreamReader(get_settings().memories_table).new_records()
    return dict(function_module("on_memory_change").process(lambda_event(records), LambdaContext()))
