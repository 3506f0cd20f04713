"""POST /v1/sessions/{id}/turn — record a turn; every Nth turn returns refreshed context."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import intelligence, session_id_of
from engram.models.intelligence import RecordTurn, TurnOut

app = make_resolver()


@app.post("/v1/sessions/<id>/turn", summary="Record a turn", tags=["sessions"])
def record_turn(id: Annotated[str, Path(min_length=1, max_length=255)], body: RecordTurn) -> TurnOut:
    return intelligence().record_turn(tenant_of(app), id, body)


lambda_handler = http_handler(app, idempotent=True, canonical=session_id_of)
