"""Memories table stream → the vector index (upsert by version, delete on REMOVE), and access logs
settled into their memories (the batch's together first: services/memory_stream.py).

Partial batch failures are reported (``ReportBatchItemFailures``) so only failed records retry.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from engram.container import memory_stream
from engram.index.ports import VectorIndex
from engram.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def process(event: dict[str, Any], context: Any, index: VectorIndex | None = None) -> dict[str, Any]:
    handler = memory_stream(index)
    handler.settle_batch(event.get("Records") or [])  # the batch's access logs, in one write per tenant
    return dict(
        process_partial_response(event=event, record_handler=handler.handle, processor=processor, context=context)
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context)
