"""POST /v1/sessions/{id}/summarize — summarise the session's memories and messages now and save it."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import intelligence, session_id_of
from engram.models.intelligence import SummarizeOut

app = make_resolver()


@app.post(
    "/v1/sessions/<id>/summarize",
    summary="Summarise a session",
    description="A summary of the session's memories and messages, saved on the session. "
    "409 when the session has nothing to summarise yet (no messages and no memories).",
    tags=["sessions"],
)
def summarize_session(id: Annotated[str, Path(min_length=1, max_length=255)]) -> SummarizeOut:
    return intelligence().summarize(tenant_of(app), id)


lambda_handler = http_handler(app, idempotent=True, canonical=session_id_of)
