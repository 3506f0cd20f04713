"""GET /v1/memories — list memories, newest first; filters namespace, type, tier, session_id, agent_id."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import memories
from engram.models.common import Cursor, Label, Page
from engram.models.memories import MemoryOut, MemoryType, Tier

app = make_resolver()


@app.get("/v1/memories", summary="List memories", tags=["memories"])
def list_memories(
    namespace: Annotated[Label | None, Query()] = None,
    type: Annotated[MemoryType | None, Query()] = None,
    tier: Annotated[Tier | None, Query()] = None,
    session_id: Annotated[Label | None, Query()] = None,
    agent_id: Annotated[Label | None, Query()] = None,
    include_superseded: Annotated[bool, Query(description="also list superseded memories (marked)")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[Cursor | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Page[MemoryOut]:
    return memories().list(
        tenant_of(app),
        namespace=namespace,
        type=type,
        tier=tier,
        session_id=session_id,
        agent_id=agent_id,
        include_superseded=include_superseded,
        limit=limit,
        cursor=cursor,
        offset=offset,
    )


lambda_handler = http_handler(app)
