"""POST /v1/sessions — create a session."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.sessions import CreateSession, SessionOut

app = make_resolver()


@app.post("/v1/sessions", summary="Create a session", tags=["sessions"])
def create_session(body: CreateSession) -> tuple[SessionOut, int]:
    return sessions().create(tenant_of(app), body), 201


lambda_handler = http_handler(app, idempotent=True)
