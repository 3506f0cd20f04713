"""DELETE /v1/memories/{id}/lock — unpin: the tier follows strength again."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import feedback
from engram.models.memories import LockOut

app = make_resolver()


@app.delete("/v1/memories/<id>/lock", summary="Unlock a memory's tier", tags=["memory intelligence"])
def unlock_memory(id: Annotated[str, Path(min_length=1, max_length=255)]) -> LockOut:
    return feedback().unlock(tenant_of(app), id)


lambda_handler = http_handler(app)
