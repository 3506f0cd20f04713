"""GET /v1/memories/{id}/history — every change of a memory, with time and cause, newest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import governance
from engram.models.governance import HistoryOut

app = make_resolver()


@app.get("/v1/memories/<id>/history", summary="A memory's history", tags=["memory governance"])
def memory_history(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> HistoryOut:
    return governance().history(tenant_of(app), id, limit=limit, cursor=cursor)


lambda_handler = http_handler(app)
