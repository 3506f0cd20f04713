"""POST /v1/sessions/{id}/end — end with an outcome; extraction and learning follow in the background."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import session_id_of, sessions
from engram.models.sessions import EndSession, EndSessionOut

app = make_resolver()


@app.post("/v1/sessions/<id>/end", summary="End a session", tags=["sessions"])
def end_session(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    body: EndSession | None = None,
) -> EndSessionOut:
    return sessions().end(tenant_of(app), id, body or EndSession())


lambda_handler = http_handler(app, idempotent=True, canonical=session_id_of)
