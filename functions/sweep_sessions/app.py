"""Scheduled: end idle sessions (outcome abandoned) and expire sessions past their TTL."""

from dataclasses import asdict
from typing import Any

from engram.container import sweeper
from engram.observability import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    report = asdict(sweeper().sweep())
    logger.info("sweep finished", extra=report)
    return report
