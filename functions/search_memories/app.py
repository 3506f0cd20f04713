"""POST /v1/memories/search — hybrid search (vector + BM25 + bonuses) with filters, top_k, threshold."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import search
from engram.models.memories import SearchMemories, SearchOut

app = make_resolver()


@app.post("/v1/memories/search", summary="Search memories", tags=["memories"])
def search_memories(body: SearchMemories) -> SearchOut:
    return search().search_api(tenant_of(app), body)


lambda_handler = http_handler(app, idempotent=True)
