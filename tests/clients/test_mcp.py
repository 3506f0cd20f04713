"""The MCP server through the official SDK's client: over stdio (`engram mcp`) and over Streamable
HTTP (`POST /mcp` on the local server), every tool listed and called, state checked with the SDK."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from engram.testing.server import ROOT, LocalServer
from engram_client import Engram, NotFound

TOOLS = {
    "remember": {"text"},
    "recall": {"query"},
    "forget": {"memory_id"},
    "start_session": set(),
    "record_turn": {"session_id", "messages"},
    "end_session": {"session_id"},
    "reinforce": {"memory_id"},
    "log_miss": {"query"},
}


def over_http(server: LocalServer, key: str | None = None) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key or server.api_key}"}, timeout=120)
    return Client(streamable_http_client(f"{server.url}/mcp", http_client=http))


def over_stdio(server: LocalServer) -> Client:
    command = ["-m", "engram.cli", "mcp", "--url", server.url, "--api-key", server.api_key]
    return Client(StdioServerParameters(command=sys.executable, args=command, cwd=str(ROOT)), read_timeout_seconds=120)


def run(client: Client, scenario: Callable[[Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with client as connected:
            return await scenario(connected)

    return asyncio.run(main())


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def every_tool(client: Client) -> dict[str, Any]:
    listed = await client.list_tools()
    out: dict[str, Any] = {"tools": {t.name: t for t in listed.tools}}
    out["remember"] = await call(
        client, "remember", text="The user's cat is called Miso", type="fact", namespace="pets"
    )
    out["recall"] = await call(client, "recall", query="what is the cat called", namespace="pets")
    out["empty"] = await call(client, "recall", query="quarterly tax filing deadlines", namespace="pets")
    out["start"] = await call(client, "start_session", first_message="Tell me about my cat", namespace="pets")
    session = out["start"]["session_id"]
    out["turn"] = await call(
        client,
        "record_turn",
        session_id=session,
        messages=[{"role": "user", "content": "What is my cat called?"}, {"role": "assistant", "content": "Miso"}],
        memories_used=[out["remember"]["id"]],
    )
    home = f"home-{uuid.uuid4().hex[:8]}"  # each transport run gets its own
    out["old_home"] = await call(client, "remember", text="I live in Lisbon", type="identity", namespace=home)
    out["new_home"] = await call(client, "remember", text="I moved to Berlin", type="identity", namespace=home)
    out["start_current"] = await call(client, "start_session", first_message="Where do I live?", namespace=home)
    out["start_all"] = await call(
        client, "start_session", first_message="Where do I live?", namespace=home, include_superseded=True
    )
    out["reinforce"] = await call(client, "reinforce", memory_id=out["remember"]["id"], value=1)
    out["miss"] = await call(client, "log_miss", query="What is the cat's birthday?", session_id=session)
    out["end"] = await call(client, "end_session", session_id=session, outcome="success", summary="Talked about Miso")
    out["forget"] = await call(client, "forget", memory_id=out["remember"]["id"])
    unknown = await client.call_tool("forget", {"memory_id": out["remember"]["id"]})
    out["forget_again"] = (unknown.is_error, " ".join(getattr(c, "text", "") for c in unknown.content))
    invalid = await client.call_tool("reinforce", {"memory_id": "mem_x", "value": 5})
    out["invalid"] = invalid.is_error
    return out


def check_every_tool(out: dict[str, Any], sdk: Engram) -> None:
    tools = out["tools"]
    assert set(tools) == set(TOOLS)
    for name, required in TOOLS.items():
        schema = tools[name].input_schema
        assert schema["type"] == "object" and set(schema.get("required", [])) == required, name
        assert tools[name].description, name
    assert tools["end_session"].input_schema["properties"]["outcome"]["anyOf"][0]["enum"] == [
        "success",
        "partial",
        "failure",
        "abandoned",
    ]
    memory_id = out["remember"]["id"]
    assert out["remember"]["namespace"] == "pets" and out["remember"]["type"] == "fact"
    assert [m["id"] for m in out["recall"]["memories"]][:1] == [memory_id]
    assert out["recall"]["memories"][0]["score"] > 0 and out["empty"] == {"memories": [], "count": 0}
    session = out["start"]["session_id"]
    old, new = out["old_home"]["id"], out["new_home"]["id"]
    assert [(m["id"], m.get("superseded")) for m in out["start_current"]["context"]["critical"]] == [(new, None)]
    marked = {m["id"]: m.get("superseded") for m in out["start_all"]["context"]["critical"]}
    assert marked == {new: None, old: True}
    assert out["turn"]["turn_number"] == 1 and out["turn"]["refresh_needed"] is False
    assert out["reinforce"]["memory_id"] == memory_id and out["reinforce"]["feedback_score"] >= 1
    assert out["end"]["status"] == "ended" and out["end"]["outcome"] == "success"
    assert out["forget"] == {"id": memory_id, "deleted": True}
    assert out["forget_again"][0] is True and "404" in out["forget_again"][1]
    assert out["invalid"] is True
    # What the tools did, seen through the API.
    stored = sdk.sessions.get(session, include_messages=True)
    assert stored.status == "ended" and [m.content for m in stored.messages or []] == ["What is my cat called?", "Miso"]
    assert out["miss"]["miss_id"] in [m.id for m in sdk.iter_misses()]
    with pytest.raises(NotFound):
        sdk.memories.get(memory_id)


def test_every_tool_over_stdio(server: LocalServer) -> None:
    check_every_tool(run(over_stdio(server), every_tool), Engram(server.url, server.api_key))


def test_every_tool_over_streamable_http(server: LocalServer) -> None:
    check_every_tool(run(over_http(server), every_tool), Engram(server.url, server.api_key))


def test_hosted_endpoint_uses_the_api_key_and_its_tenant(server: LocalServer) -> None:
    refused = httpx.post(
        f"{server.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
        timeout=120,
    )
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"

    created = subprocess.run(
        [sys.executable, "-m", "engram.cli", "keys", "create", "--tenant", "mcp-other",
         "--data-dir", str(server.data_dir)],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )  # fmt: skip
    other_key = json.loads(created.stdout)["api_key"]

    async def remember(client: Client) -> dict[str, Any]:
        return await call(client, "remember", text="Tenant A's secret launch date is in May", namespace="launch")

    async def recall(client: Client) -> dict[str, Any]:
        return await call(client, "recall", query="secret launch date", namespace="launch")

    mine = run(over_http(server), remember)
    theirs = run(over_http(server, other_key), recall)
    assert theirs == {"memories": [], "count": 0}
    assert [m["id"] for m in run(over_http(server), recall)["memories"]] == [mine["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "2.0"},  # neither a request nor a response
        {"jsonrpc": "2.0", "id": 3},  # a response without result or error
        {"jsonrpc": "2.0", "id": 3, "result": {}, "error": {"code": 1, "message": "x"}},  # both
        {"jsonrpc": "2.0", "id": 3, "result": None},  # the MCP SDK answered these with a bare 400
        {"jsonrpc": "2.0", "id": 3, "error": {"code": "x"}},
        {"jsonrpc": "1.0", "id": 1, "method": "tools/list"},
    ],
)
def test_hosted_endpoint_refuses_what_is_not_a_json_rpc_message_in_the_error_shape(
    server: LocalServer, body: dict[str, Any]
) -> None:
    answer = httpx.post(
        f"{server.url}/mcp",
        json=body,
        headers={"Authorization": f"Bearer {server.api_key}", "Accept": "application/json, text/event-stream"},
        timeout=120,
    )
    assert answer.status_code == 422, answer.text
    assert set(answer.json()) == {"error", "request_id"} and answer.json()["error"]["code"] == "validation_error"


def test_hosted_notification_is_accepted_without_a_body(server: LocalServer) -> None:
    answer = httpx.post(
        f"{server.url}/mcp",
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={"Authorization": f"Bearer {server.api_key}", "Accept": "application/json, text/event-stream"},
        timeout=120,
    )
    assert answer.status_code == 202 and answer.content == b""
