"""``POST /mcp``: the MCP server over Streamable HTTP, stateless, with JSON responses, in one Lambda.

The request has passed the API's authorizer (the same API key as every route); the tools act for
its tenant. Each invocation serves one HTTP request: a fresh stateless transport (the SDK's
session manager, which runs once) behind Mangum, which turns the API Gateway event into ASGI and
the answer back into the Lambda's response. Nothing is kept between requests but the tool
definitions, built once per container.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from mangum import Mangum
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from engram import __version__
from engram.mcp.tools import Backend, build_server

PATH = "/mcp"
_TENANT: ContextVar[str] = ContextVar("engram_mcp_tenant")


def _backend() -> Backend:
    from engram.mcp.service_backend import ServiceBackend

    return ServiceBackend(_TENANT.get())


@lru_cache(maxsize=1)
def server() -> MCPServer:
    return build_server(_backend, version=__version__)


def handle(event: dict[str, Any], context: Any, tenant_id: str) -> dict[str, Any]:
    """Serve one MCP request for ``tenant_id`` (checked by the authorizer)."""
    # The API key guards this endpoint, and the Host is the API's own domain: DNS-rebinding
    # protection (for unauthenticated servers on localhost) would only refuse legitimate hosts.
    app = server().streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    token = _TENANT.set(tenant_id)
    try:
        response: dict[str, Any] = Mangum(app, lifespan="auto")(event, context)
    finally:
        _TENANT.reset(token)
    return response
