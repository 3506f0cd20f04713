"""GET /v1/memories/misses/clusters — logged misses grouped by meaning, biggest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import miss_review
from engram.models.common import DateOrDateTime, Label
from engram.models.memories import MissClustersOut

app = make_resolver()


@app.get("/v1/memories/misses/clusters", summary="Miss clusters", tags=["memory intelligence"])
def miss_clusters(
    namespace: Annotated[Label | None, Query()] = None,
    since: Annotated[DateOrDateTime | None, Query()] = None,
    until: Annotated[DateOrDateTime | None, Query()] = None,
    similarity: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    examples: Annotated[int, Query(ge=1, le=20)] = 5,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> MissClustersOut:
    return miss_review().clusters(
        tenant_of(app),
        namespace=namespace,
        since=since,
        until=until,
        similarity=similarity,
        examples=examples,
        limit=limit,
        cursor=cursor,
    )


lambda_handler = http_handler(app)
