"""POST /v1/memories/{id}/lock — pin a memory at a tier; decay never demotes it."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import feedback
from engram.models.memories import LockOut, LockTier

app = make_resolver()


@app.post("/v1/memories/<id>/lock", summary="Lock a memory's tier", tags=["memory intelligence"])
def lock_memory(id: Annotated[str, Path(min_length=1, max_length=255)], body: LockTier) -> LockOut:
    return feedback().lock(tenant_of(app), id, body.tier)


lambda_handler = http_handler(app, idempotent=True)
