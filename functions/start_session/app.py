"""POST /v1/sessions/start — create a session and get the memories to inject into the prompt."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import intelligence
from engram.models.intelligence import StartSession, StartSessionOut

app = make_resolver()


@app.post("/v1/sessions/start", summary="Start a session with injected memory context", tags=["sessions"])
def start_session(body: StartSession) -> tuple[StartSessionOut, int]:
    return intelligence().start(tenant_of(app), body), 201


lambda_handler = http_handler(app, idempotent=True)
