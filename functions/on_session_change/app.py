"""Sessions stream: extraction, outcome learning and summaries when a session finishes; TTL cascades."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from engram.container import session_events
from engram.observability import logger
from engram.services.session_events import SessionEventHandler

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def process(event: dict[str, Any], context: Any, handler: SessionEventHandler | None = None) -> dict[str, Any]:
    record_handler = (handler or session_events()).handle
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context)
