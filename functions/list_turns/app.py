"""GET /v1/sessions/{id}/turns — the session's start and turns: memories injected and used, paged."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.common import Cursor, Page
from engram.models.intelligence import TurnEntryOut

app = make_resolver()


@app.get("/v1/sessions/<id>/turns", summary="List a session's start and turns", tags=["sessions"])
def list_turns(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> Page[TurnEntryOut]:
    return sessions().list_turns(tenant_of(app), id, limit=limit, cursor=cursor)


lambda_handler = http_handler(app)
