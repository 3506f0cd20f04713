"""GET /v1/memories — list memories, newest first; filters namespace, type, tier, session_id, agent_id."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import memories
from engram.models.common import Page
from engram.models.memories import MemoryOut, MemoryType, Tier

app = make_resolver()


@app.get("/v1/memories", summary="List memories", tags=["memories"])
def list_memories(
    namespace: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    type: Annotated[MemoryType | None, Query()] = None,
    tier: Annotated[Tier | None, Query()] = None,
    session_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    agent_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Page[MemoryOut]:
    return memories().list(
        tenant_of(app),
        namespace=namespace,
        type=type,
        tier=tier,
        session_id=session_id,
        agent_id=agent_id,
        limit=limit,
        cursor=cursor,
        offset=offset,
    )


lambda_handler = http_handler(app)
