"""GET /v1/sessions — list sessions, newest first, with filters and paging."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.common import Cursor, Label, Page
from engram.models.sessions import SessionOut, StatusFilter

app = make_resolver()


@app.get("/v1/sessions", summary="List sessions", tags=["sessions"])
def list_sessions(
    status: Annotated[StatusFilter | None, Query()] = None,
    agent_id: Annotated[Label | None, Query(description="sessions this agent created or joined")] = None,
    project: Annotated[Label | None, Query()] = None,
    namespace: Annotated[Label | None, Query()] = None,
    key_prefix: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[Cursor | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Page[SessionOut]:
    return sessions().list_sessions(
        tenant_of(app),
        status=status,
        agent_id=agent_id,
        project=project,
        namespace=namespace,
        key_prefix=key_prefix,
        limit=limit,
        cursor=cursor,
        offset=offset,
    )


lambda_handler = http_handler(app)
