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
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from mangum import Mangum
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from engram import __version__
from engram.mcp.tools import Backend, build_server

PATH = "/mcp"
_TENANT: ContextVar[str] = ContextVar("engram_mcp_tenant")


# The answer is the MCP SDK's JSON-RPC text, passed through as is (so no response model validates it).
ANSWERS: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The JSON-RPC answer of the MCP server",
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    },
    202: {"description": "A notification or response was accepted (no body)", "content": {}},
}


class JsonRpcError(BaseModel):
    """The ``error`` of a JSON-RPC error response."""

    model_config = ConfigDict(extra="allow")

    code: int
    message: str


# The envelope's kinds, declared in the OpenAPI document as the resolver checks them (so a
# schema-valid body is never refused, issue 9 item 10): a request or notification names a method;
# a response carries an id and a result object; an error response an id (null if unknown) and an
# error object; a response carries one of result and error, not both.
_KINDS: list[JsonValue] = [
    {"required": ["method"], "properties": {"method": {"type": "string"}}},
    {
        "required": ["id", "result"],
        "properties": {"id": {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "result": {"type": "object"}},
        "not": {"required": ["error"]},
    },
    {
        "required": ["id", "error"],
        "properties": {"error": {"type": "object"}},
        "not": {"required": ["result"]},
    },
]


class JsonRpcMessage(BaseModel):
    """One JSON-RPC 2.0 message of the MCP protocol (a request, notification or response). The
    resolver checks the envelope as the MCP SDK reads it, so a body that is not one answers in the
    API's error shape (the SDK would answer a bare JSON-RPC error); the MCP SDK reads the rest."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"anyOf": _KINDS})

    jsonrpc: Literal["2.0"]
    id: int | str | None = None
    method: str | None = Field(default=None, max_length=256)
    params: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: JsonRpcError | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> JsonRpcMessage:
        if self.method is not None:
            return self
        sent = self.model_fields_set
        response = self.result is not None and self.id is not None and "error" not in sent
        error = self.error is not None and "id" in sent and "result" not in sent
        if not (response or error):
            raise ValueError(
                "not a JSON-RPC message: a request needs 'method' (and 'id'), a notification 'method', "
                "a response 'id' and a 'result' object, an error response 'id' and an 'error' object"
            )
        return self


def _backend() -> Backend:
    from engram.mcp.service_backend import ServiceBackend

    return ServiceBackend(_TENANT.get())


@lru_cache(maxsize=1)
def server() -> MCPServer:
    return build_server(_backend, version=__version__)


def handle(event: dict[str, Any], context: Any, tenant_id: str) -> Response[str]:
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
        answer: dict[str, Any] = Mangum(app, lifespan="auto")(event, context)
    finally:
        _TENANT.reset(token)
    headers = {k: v for k, v in (answer.get("headers") or {}).items() if k.lower() != "content-length"}
    return Response(
        status_code=int(answer["statusCode"]),
        content_type=headers.pop("content-type", "application/json"),
        body=answer.get("body") or "",
        headers=headers,
    )
