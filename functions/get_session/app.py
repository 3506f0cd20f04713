"""GET /v1/sessions/{id} — one session by id or key, optionally with messages and memories."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.sessions import SessionDetail

app = make_resolver()


@app.get("/v1/sessions/<id>", summary="Get a session by id or key", tags=["sessions"])
def get_session(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    include_messages: Annotated[bool, Query()] = False,
    include_memories: Annotated[bool, Query()] = False,
) -> SessionDetail:
    return sessions().get(tenant_of(app), id, include_messages=include_messages, include_memories=include_memories)


lambda_handler = http_handler(app)
