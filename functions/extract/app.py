"""POST /v1/extract — suggested memories from a conversation; `save` stores them."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import intelligence
from engram.models.intelligence import ExtractOut, ExtractRequest

app = make_resolver()


@app.post("/v1/extract", summary="Extract memories from a conversation", tags=["memories"])
def extract(body: ExtractRequest) -> ExtractOut:
    return intelligence().extract(tenant_of(app), body)


lambda_handler = http_handler(app, idempotent=True)
