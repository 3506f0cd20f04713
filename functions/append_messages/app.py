"""POST /v1/sessions/{id}/messages — append one message or a batch, in order."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import session_id_of, sessions
from engram.models.sessions import AppendMessages, AppendMessagesOut

app = make_resolver()


@app.post("/v1/sessions/<id>/messages", summary="Append messages", tags=["messages"])
def append_messages(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    body: AppendMessages,
) -> tuple[AppendMessagesOut, int]:
    return sessions().append_messages(tenant_of(app), id, body), 201


lambda_handler = http_handler(app, idempotent=True, canonical=session_id_of)
