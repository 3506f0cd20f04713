"""POST /mcp — the MCP endpoint (Streamable HTTP, stateless, JSON), same API key and tenant as the API."""

from typing import Any

from engram.api.resolver import authorizer_context, precheck
from engram.mcp.hosted import handle


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    refused = precheck(event, auth=True)  # 401/429 from the authorizer, 413 for a huge body
    if refused is not None:
        return refused
    return handle(event, context, str(authorizer_context(event)["tenant_id"]))
