"""GET /v1/health — liveness, no auth and no storage call (cheap enough for any probe)."""

from engram import __version__, clock
from engram.api.resolver import http_handler, make_resolver
from engram.models.common import ResponseModel

app = make_resolver(auth=False)


class Health(ResponseModel):
    status: str
    version: str
    time: str | None


@app.get("/v1/health", summary="Health check", tags=["meta"])
def health() -> Health:
    return Health(status="ok", version=__version__, time=clock.iso(clock.now()))


lambda_handler = http_handler(app)
