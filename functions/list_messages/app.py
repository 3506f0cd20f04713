"""GET /v1/sessions/{id}/messages — messages in order, paged."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.common import Cursor, Page
from engram.models.sessions import MessageOut

app = make_resolver()


@app.get("/v1/sessions/<id>/messages", summary="List a session's messages", tags=["messages"])
def list_messages(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[Cursor | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[MessageOut]:
    return sessions().list_messages(tenant_of(app), id, limit=limit, cursor=cursor, offset=offset)


lambda_handler = http_handler(app)
