"""GET /v1/memories/misses — logged misses, newest first (limit, since, cursor)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import misses
from engram.models.common import Cursor, DateOrDateTime
from engram.models.memories import MissesOut

app = make_resolver()


@app.get("/v1/memories/misses", summary="List misses", tags=["memory intelligence"])
def list_misses(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    since: Annotated[DateOrDateTime | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> MissesOut:
    return misses().list_misses(tenant_of(app), limit=limit, since=since, cursor=cursor)


lambda_handler = http_handler(app)
