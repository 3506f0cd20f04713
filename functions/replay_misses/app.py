"""POST /v1/memories/misses/replay — logged miss queries asked again: which are answered now."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import miss_review
from engram.models.memories import ReplayMisses, ReplayOut

app = make_resolver()


@app.post("/v1/memories/misses/replay", summary="Replay misses", tags=["memory intelligence"])
def replay_misses(body: ReplayMisses) -> ReplayOut:
    return miss_review().replay(tenant_of(app), body)


lambda_handler = http_handler(app, idempotent=True)
