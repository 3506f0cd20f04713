"""GET /v1/sessions/{id}/export — the session, its messages and memories as one document."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions

app = make_resolver()


@app.get("/v1/sessions/<id>/export", summary="Export a session", tags=["sessions"])
def export_session(id: Annotated[str, Path(min_length=1, max_length=255)]) -> dict[str, Any]:
    return sessions().export(tenant_of(app), id)


lambda_handler = http_handler(app)
