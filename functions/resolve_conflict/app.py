"""POST /v1/memories/conflicts/{id}/resolve — keep_new, keep_old or keep_both."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import governance
from engram.models.governance import ResolveConflict, ResolveConflictOut

app = make_resolver()


@app.post("/v1/memories/conflicts/<id>/resolve", summary="Resolve a memory conflict", tags=["memory governance"])
def resolve_conflict(
    id: Annotated[str, Path(min_length=1, max_length=255)], body: ResolveConflict
) -> ResolveConflictOut:
    return governance().resolve(tenant_of(app), id, body)


lambda_handler = http_handler(app, idempotent=True)
