"""POST /v1/memories/batch — up to 100 memories, each answered on its own (status and id)."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import batch_writer
from engram.models.batch import BatchCreateMemories, BatchOut

app = make_resolver()


@app.post("/v1/memories/batch", summary="Create up to 100 memories", tags=["memories"])
def batch_create_memories(body: BatchCreateMemories) -> BatchOut:
    return batch_writer().create(tenant_of(app), body)


lambda_handler = http_handler(app, idempotent=True)
