"""GET /v1/openapi.json — the merged OpenAPI document of every function."""

from typing import Any

from engram.api.docs import spec
from engram.api.resolver import http_handler, make_resolver

app = make_resolver(auth=False)


@app.get("/v1/openapi.json", summary="OpenAPI document", tags=["meta"])
def openapi() -> dict[str, Any]:
    return spec()


lambda_handler = http_handler(app)
