"""GET /v1/memories/conflicts — contradictions waiting for review (status, limit, cursor)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import governance
from engram.models.governance import ConflictsOut

app = make_resolver()


@app.get("/v1/memories/conflicts", summary="List memory conflicts", tags=["memory governance"])
def list_conflicts(
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ConflictsOut:
    wanted = None if status == "all" else status
    return governance().conflicts(tenant_of(app), status=wanted, limit=limit, cursor=cursor)


lambda_handler = http_handler(app)
