"""The MCP tools in process (the SDK's in-memory transport, a recording backend): what each
argument becomes in the API body. The end-to-end tool runs are in test_mcp.py."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp import Client

from engram.mcp.tools import build_server


class Recording:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def create_memory(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return {"id": "mem_1", "title": body["text"], "namespace": "default", "type": "fact", "tier": "normal"}


def test_remember_passes_the_context_and_declares_its_bound() -> None:
    backend = Recording()

    async def scenario() -> tuple[Any, Any]:
        async with Client(build_server(lambda: backend)) as client:  # type: ignore[arg-type, return-value]
            tools = {t.name: t for t in (await client.list_tools()).tools}
            result = await client.call_tool("remember", {"text": "Ann wrote it", "context": "Who wrote it?"})
            return tools["remember"], result

    tool, result = asyncio.run(scenario())
    assert not result.is_error, result.content
    declared = tool.input_schema["properties"]["context"]
    assert any(o.get("maxLength") == 4_000 for o in declared.get("anyOf", [declared]))
    assert backend.bodies == [
        {"text": "Ann wrote it", "namespace": "default", "type": "fact", "context": "Who wrote it?"}
    ]
