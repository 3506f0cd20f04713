"""PATCH /v1/sessions/{id} — title, metadata (merged), ttl_seconds."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.sessions import SessionOut, UpdateSession

app = make_resolver()


@app.patch("/v1/sessions/<id>", summary="Update a session", tags=["sessions"])
def update_session(id: Annotated[str, Path(min_length=1, max_length=255)], body: UpdateSession) -> SessionOut:
    return sessions().update(tenant_of(app), id, body)


lambda_handler = http_handler(app)
