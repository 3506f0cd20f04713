"""GET /v1/sessions/{id} — one session by id or key with its first page of messages; memories on request."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.sessions import MESSAGES_PAGE, SessionDetail

app = make_resolver()


@app.get("/v1/sessions/<id>", summary="Get a session by id or key", tags=["sessions"])
def get_session(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    include_messages: Annotated[bool, Query(description="the first page of messages, in order")] = True,
    include_memories: Annotated[bool, Query(description="the memories linked to the session")] = False,
    messages_limit: Annotated[
        int, Query(ge=1, le=MESSAGES_PAGE, description="messages in that page; messages_next_cursor continues")
    ] = MESSAGES_PAGE,
) -> SessionDetail:
    return sessions().get(
        tenant_of(app),
        id,
        include_messages=include_messages,
        include_memories=include_memories,
        messages_limit=messages_limit,
    )


lambda_handler = http_handler(app)
