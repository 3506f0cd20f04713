"""GET /v1/deletions — the tenant's deletion receipts, newest first (ids and counts, never text)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import governance
from engram.models.governance import DeletionsOut

app = make_resolver()


@app.get("/v1/deletions", summary="List deletion receipts", tags=["memory governance"])
def list_deletions(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> DeletionsOut:
    return governance().deletions(tenant_of(app), limit=limit, cursor=cursor)


lambda_handler = http_handler(app)
