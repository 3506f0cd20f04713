"""POST /v1/explain — the full score breakdown for a query (or one memory)."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import search
from engram.models.memories import ExplainOut, ExplainRequest

app = make_resolver()


@app.post("/v1/explain", summary="Explain retrieval", tags=["memory intelligence"])
def explain(body: ExplainRequest) -> ExplainOut:
    return search().explain(tenant_of(app), body)


lambda_handler = http_handler(app, idempotent=True)
