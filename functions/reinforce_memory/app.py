"""POST /v1/memories/{id}/reinforce — explicit feedback (+1/-1): feedback score, tier, promoted/demoted."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import feedback
from engram.models.memories import Reinforce, ReinforceOut

app = make_resolver()


@app.post("/v1/memories/<id>/reinforce", summary="Reinforce a memory", tags=["memory intelligence"])
def reinforce_memory(id: Annotated[str, Path(min_length=1, max_length=255)], body: Reinforce) -> ReinforceOut:
    return feedback().reinforce(tenant_of(app), id, body)


lambda_handler = http_handler(app, idempotent=True)
