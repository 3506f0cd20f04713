"""POST /v1/sessions/{id}/close — close; a summary is written to `session-memory` in the background."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import session_id_of, sessions
from engram.models.sessions import CloseSession, SessionOut

app = make_resolver()


@app.post("/v1/sessions/<id>/close", summary="Close a session", tags=["sessions"])
def close_session(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    body: CloseSession | None = None,
) -> SessionOut:
    return sessions().close(tenant_of(app), id, body or CloseSession())


lambda_handler = http_handler(app, idempotent=True, canonical=session_id_of)
