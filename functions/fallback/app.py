"""$default — every request no other route matches: GET / points to the docs; the rest is a 404
(or a 405 with ``Allow`` when the path exists), in the one error shape, on AWS as locally."""

from engram import __version__
from engram.api.resolver import http_handler, make_resolver
from engram.models.common import ResponseModel

app = make_resolver(auth=False, json_body=False)


class ApiIndex(ResponseModel):
    name: str
    version: str
    docs: str
    openapi: str
    health: str


@app.get("/", summary="Where to start", tags=["meta"])
def index() -> ApiIndex:
    return ApiIndex(
        name="Engram API", version=__version__, docs="/docs", openapi="/v1/openapi.json", health="/v1/health"
    )


lambda_handler = http_handler(app)
