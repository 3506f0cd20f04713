"""POST /mcp — the MCP endpoint (Streamable HTTP, stateless, JSON), same API key and tenant as the API."""

from aws_lambda_powertools.event_handler import Response

from engram.api.resolver import http_handler, make_resolver, tenant_of
from engram.mcp.hosted import ANSWERS, JsonRpcMessage, handle

app = make_resolver()


@app.post("/mcp", summary="MCP: Engram's memory tools (Streamable HTTP, stateless)", tags=["mcp"], responses=ANSWERS)
def mcp(body: JsonRpcMessage) -> Response[str]:
    return handle(app.current_event.raw_event, app.lambda_context, tenant_of(app))


lambda_handler = http_handler(app)
