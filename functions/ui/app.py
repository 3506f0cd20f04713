"""GET /ui — the memory inspector: a self-contained page that talks to this API with the user's key."""

from aws_lambda_powertools.event_handler import Response, content_types

from engram.api.inspector import inspector_page
from engram.api.resolver import http_handler, make_resolver

app = make_resolver(auth=False)


@app.get("/ui", summary="Memory inspector", tags=["meta"], include_in_schema=False)
def ui() -> Response[str]:
    html, headers = inspector_page()
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=html, headers=headers)


lambda_handler = http_handler(app)
