"""POST /v1/memories — create a memory (searchable when this returns)."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import memories
from engram.models.memories import CreateMemory, WrittenMemoryOut

app = make_resolver()


@app.post("/v1/memories", summary="Create a memory", tags=["memories"])
def create_memory(body: CreateMemory) -> tuple[WrittenMemoryOut, int]:
    return memories().create(tenant_of(app), body), 201


lambda_handler = http_handler(app, idempotent=True)
