"""POST /v1/sessions/get-or-create — one session per key, race-free; the caller joins contributors."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.sessions import GetOrCreateSession, SessionDetail

app = make_resolver()


@app.post("/v1/sessions/get-or-create", summary="Get or create a session by key", tags=["sessions"])
def get_or_create_session(body: GetOrCreateSession) -> tuple[SessionDetail, int]:
    session = sessions().get_or_create(tenant_of(app), body)
    return session, 201 if session.created else 200


lambda_handler = http_handler(app, idempotent=True)
