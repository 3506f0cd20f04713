"""POST /v1/sessions/{id}/summarize — generate the session's summary now and save it."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import intelligence
from engram.models.intelligence import SummarizeOut

app = make_resolver()


@app.post("/v1/sessions/<id>/summarize", summary="Summarise a session", tags=["sessions"])
def summarize_session(id: Annotated[str, Path(min_length=1, max_length=255)]) -> SummarizeOut:
    return intelligence().summarize(tenant_of(app), id)


lambda_handler = http_handler(app, idempotent=True)
