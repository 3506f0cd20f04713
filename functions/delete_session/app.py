"""DELETE /v1/sessions/{id} — soft delete; `purge` removes messages now; `cascade_memories`."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.container import sessions
from engram.models.sessions import DeleteSessionOut

app = make_resolver()


@app.delete("/v1/sessions/<id>", summary="Delete a session", tags=["sessions"])
def delete_session(
    id: Annotated[str, Path(min_length=1, max_length=255)],
    cascade_memories: Annotated[bool, Query()] = False,
    purge: Annotated[bool, Query()] = False,
) -> DeleteSessionOut:
    return sessions().delete(tenant_of(app), id, cascade_memories=cascade_memories, purge=purge)


lambda_handler = http_handler(app)
