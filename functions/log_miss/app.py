"""POST /v1/memories/miss — log a question memory could not answer."""

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import misses
from engram.models.memories import LogMiss, LogMissOut

app = make_resolver()


@app.post("/v1/memories/miss", summary="Log a miss", tags=["memory intelligence"])
def log_miss(body: LogMiss) -> tuple[LogMissOut, int]:
    return misses().log_miss(tenant_of(app), body), 201


lambda_handler = http_handler(app, idempotent=True)
