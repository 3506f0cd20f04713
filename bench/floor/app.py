"""The cold-start FLOOR: what any Engram-style HTTP function costs before doing anything of its own.

Powertools' Logger and APIGatewayHttpResolver (with validation), boto3 and pydantic, one route and
one comparable storage call (a DynamoDB GetItem on the sessions table). ``bench/coldstart.py``
measures every function in template.yaml against this handler, in the same run and the same way.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

logger = Logger(service="floor")
app = APIGatewayHttpResolver(enable_validation=True)
_table = os.environ.get("ENGRAM_SESSIONS_TABLE", "engram-sessions")
_client: Any = None


class SessionOut(BaseModel):
    id: str
    found: bool


@app.get("/v1/sessions/<id>")
def get_session(id: str) -> SessionOut:  # noqa: A002 - the route's parameter name
    global _client
    if _client is None:
        _client = boto3.client("dynamodb")
    item = _client.get_item(TableName=_table, Key={"pk": {"S": f"tenant#{id}"}}).get("Item")
    return SessionOut(id=id, found=item is not None)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
