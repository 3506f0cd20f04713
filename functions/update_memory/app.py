"""PATCH /v1/memories/{id} — edit title, text (re-embedded), type, tier, entities, metadata, namespace."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import memories
from engram.models.memories import EditedMemoryOut, UpdateMemory

app = make_resolver()


@app.patch("/v1/memories/<id>", summary="Edit a memory", tags=["memories"])
def update_memory(id: Annotated[str, Path(min_length=1, max_length=255)], body: UpdateMemory) -> EditedMemoryOut:
    return memories().update(tenant_of(app), id, body)


lambda_handler = http_handler(app)
