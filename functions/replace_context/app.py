"""PUT /v1/sessions/{id}/context — replace the agent-state object whole."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.common import ContextObject
from engram.models.sessions import SessionOut

app = make_resolver()


@app.put("/v1/sessions/<id>/context", summary="Replace a session's context", tags=["sessions"])
def replace_context(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    context: Annotated[ContextObject, Body(embed=False)],
) -> SessionOut:
    return sessions().replace_context(tenant_of(app), id, context)


lambda_handler = http_handler(app)
