"""GET /docs — Swagger UI for the merged OpenAPI document, assets served inline."""

from aws_lambda_powertools.event_handler import Response, content_types

from engram.api.docs import swagger_html
from engram.api.resolver import http_handler, make_resolver

app = make_resolver(auth=False)


@app.get("/docs", summary="Swagger UI", tags=["meta"], include_in_schema=False)
def docs() -> Response[str]:
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=swagger_html())


lambda_handler = http_handler(app)
