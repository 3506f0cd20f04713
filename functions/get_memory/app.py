"""GET /v1/memories/{id} — one memory."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import memories
from engram.models.memories import MemoryOut

app = make_resolver()


@app.get("/v1/memories/<id>", summary="Get a memory", tags=["memories"])
def get_memory(id: Annotated[str, Path(min_length=1, max_length=255)]) -> MemoryOut:
    return memories().get(tenant_of(app), id)


lambda_handler = http_handler(app)
