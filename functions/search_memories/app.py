"""POST /v1/memories/search — hybrid search (vector + BM25 + bonuses) with filters, top_k, threshold."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.models.memories import SearchMemories, SearchOut
from engram.services.container_memories import memories

app = make_resolver()


@app.post("/v1/memories/search", summary="Search memories", tags=["memories"])
def search_memories(body: SearchMemories) -> SearchOut:
    return memories().search_api(tenant_of(app), body)


lambda_handler = http_handler(app, idempotent=True)
