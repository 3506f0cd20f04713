"""DELETE /v1/memories/{id} — delete a memory (table and index)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import memories
from engram.models.memories import DeleteMemoryOut

app = make_resolver()


@app.delete("/v1/memories/<id>", summary="Delete a memory", tags=["memories"])
def delete_memory(id: Annotated[str, Path(min_length=1, max_length=255)]) -> DeleteMemoryOut:
    return memories().delete(tenant_of(app), id)


lambda_handler = http_handler(app)
