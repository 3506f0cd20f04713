"""The MCP tools: names, descriptions and JSON schemas (from the typed parameters), defined once.

Each tool turns its arguments into one API operation's body, hands it to a :class:`Backend` and
returns a compact answer for a model to read. The backend is the only difference between the
stdio server (the HTTP API through the SDK) and the hosted one (the services, in the Lambda).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, Protocol

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

INSTRUCTIONS = (
    "Engram is this agent's long-term memory. Call start_session at the start of a conversation and "
    "put the returned context in your prompt; recall before answering questions about the user or past "
    "work; remember durable facts, preferences and decisions; record_turn after each exchange with the "
    "memory ids you used; end_session with the outcome; reinforce memories that helped (+1) or misled "
    "(-1); log_miss when memory had nothing for a question."
)

MemoryType = Literal[
    "identity", "preference", "decision", "fact", "goal", "constraint", "relationship", "event", "summary", "other"
]
Tier = Literal["critical", "high", "normal"]
Outcome = Literal["success", "partial", "failure", "abandoned"]
Namespace = Annotated[str, Field(min_length=1, max_length=128, description="Memory namespace (e.g. a user or project)")]


class TurnMessage(BaseModel):
    role: Literal["user", "assistant", "system", "tool"]
    content: str = Field(max_length=32_000)


class OperationFailed(Exception):
    """A backend's operation was refused or failed; the message (status, code, reason) goes to the caller."""


class Backend(Protocol):
    """One method per API operation; each takes the operation's JSON body and returns its JSON answer,
    or raises :class:`OperationFailed`."""

    async def create_memory(self, body: dict[str, Any]) -> dict[str, Any]: ...
    async def search_memories(self, body: dict[str, Any]) -> dict[str, Any]: ...
    async def delete_memory(self, memory_id: str) -> dict[str, Any]: ...
    async def start_session(self, body: dict[str, Any]) -> dict[str, Any]: ...
    async def record_turn(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]: ...
    async def end_session(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]: ...
    async def reinforce(self, memory_id: str, body: dict[str, Any]) -> dict[str, Any]: ...
    async def log_miss(self, body: dict[str, Any]) -> dict[str, Any]: ...


SUPERSEDED = "Also inject memories a newer one replaced (e.g. a former address), marked superseded: true"


def build_server(backend: Callable[[], Backend], *, version: str = "") -> MCPServer:
    """An MCPServer with Engram's tools; ``backend()`` is called per tool call (the hosted server's
    backend belongs to the request's tenant)."""
    server: MCPServer = MCPServer("engram", instructions=INSTRUCTIONS, version=version, log_level="WARNING")

    @server.tool()
    async def remember(
        text: Annotated[str, Field(min_length=1, max_length=16_000, description="What to remember, as a statement")],
        namespace: Namespace = "default",
        type: MemoryType = "fact",  # noqa: A002 - the API's name
        tier: Annotated[Tier | None, Field(description="critical: always injected; default by type")] = None,
        context: Annotated[
            str | None,
            Field(
                max_length=4_000,
                description="What came before it in the conversation (e.g. the question it answers): "
                "searched with the text, so a question worded like it finds the memory",
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Store a long-term memory (a fact, preference, decision, ...). It is searchable at once."""
        body = _body(text=text, namespace=namespace, type=type, tier=tier, context=context)
        out = await _call(backend().create_memory(body))
        return {k: out.get(k) for k in ("id", "title", "namespace", "type", "tier")}

    @server.tool()
    async def recall(
        query: Annotated[str, Field(min_length=1, max_length=2_000, description="The question or topic")],
        namespace: Annotated[str | None, Field(max_length=128, description="Only this namespace")] = None,
        top_k: Annotated[int, Field(ge=1, le=50)] = 5,
    ) -> dict[str, Any]:
        """Memories relevant to a query, best first, each with its score. Empty when nothing is relevant."""
        out = await _call(backend().search_memories(_body(query=query, namespace=namespace, top_k=top_k)))
        memories = [_memory(hit) | {"score": round(float(hit.get("score", 0.0)), 4)} for hit in out.get("results", [])]
        return {"memories": memories, "count": len(memories)}

    @server.tool()
    async def forget(memory_id: Annotated[str, Field(min_length=1, max_length=64)]) -> dict[str, Any]:
        """Delete a memory for good."""
        out = await _call(backend().delete_memory(memory_id))
        return {"id": out.get("id", memory_id), "deleted": bool(out.get("deleted", True))}

    @server.tool()
    async def start_session(
        first_message: Annotated[
            str | None, Field(max_length=8_000, description="The user's first message: picks relevant memories")
        ] = None,
        namespace: Annotated[str | None, Field(max_length=128)] = None,
        key: Annotated[str | None, Field(max_length=255, description="Your key for the conversation")] = None,
        include_superseded: Annotated[bool, Field(description=SUPERSEDED)] = False,
    ) -> dict[str, Any]:
        """Open a session and get the memories to put in the prompt: every critical memory, and the
        high-tier ones relevant to the first message."""
        body = _body(first_message=first_message, namespace=namespace, key=key, include_superseded=include_superseded)
        out = await _call(backend().start_session(body))
        context = out.get("context") or {}
        return {
            "session_id": out.get("session_id"),
            "context": {tier: [_memory(m) for m in context.get(tier, [])] for tier in ("critical", "high")},
            "stats": out.get("stats"),
        }

    @server.tool()
    async def record_turn(
        session_id: Annotated[str, Field(min_length=1, max_length=255)],
        messages: Annotated[list[TurnMessage], Field(min_length=1, max_length=50)],
        memories_used: Annotated[list[str] | None, Field(max_length=100, description="Ids of memories used")] = None,
        include_superseded: Annotated[bool, Field(description=SUPERSEDED)] = False,
    ) -> dict[str, Any]:
        """Record one exchange; the memories used are credited. Every few turns the answer carries a
        refreshed context for the recent topic (refresh_needed)."""
        body = {"messages": [m.model_dump() for m in messages], "memories_used": list(memories_used or [])}
        if include_superseded:
            body["include_superseded"] = True
        out = await _call(backend().record_turn(session_id, body))
        refreshed = out.get("new_context")
        return {
            "turn_number": out.get("turn_number"),
            "refresh_needed": bool(out.get("refresh_needed")),
            "new_context": (
                {tier: [_memory(m) for m in refreshed.get(tier, [])] for tier in ("critical", "high")}
                if refreshed
                else None
            ),
        }

    @server.tool()
    async def end_session(
        session_id: Annotated[str, Field(min_length=1, max_length=255)],
        outcome: Annotated[Outcome | None, Field(description="How it went: the memories used learn from it")] = None,
        summary: Annotated[str | None, Field(max_length=50_000)] = None,
    ) -> dict[str, Any]:
        """End a session with its outcome and an optional summary."""
        out = await _call(backend().end_session(session_id, _body(outcome=outcome, summary=summary)))
        keys = ("id", "status", "outcome", "turn_count", "message_count", "duration_seconds")
        return {k: out.get(k) for k in keys}

    @server.tool()
    async def reinforce(
        memory_id: Annotated[str, Field(min_length=1, max_length=64)],
        value: Annotated[Literal[1, -1], Field(description="+1 helpful, -1 wrong or unhelpful")] = 1,
    ) -> dict[str, Any]:
        """Feedback on a memory; its tier follows (unless locked)."""
        out = await _call(backend().reinforce(memory_id, {"value": value}))
        return {k: out.get(k) for k in ("memory_id", "feedback_score", "new_tier", "promoted", "demoted")}

    @server.tool()
    async def log_miss(
        query: Annotated[str, Field(min_length=1, max_length=2_000, description="What memory could not answer")],
        session_id: Annotated[str | None, Field(max_length=128)] = None,
    ) -> dict[str, Any]:
        """Log a question memory had nothing for, so the gap can be filled later."""
        out = await _call(backend().log_miss(_body(query=query, session_id=session_id)))
        return {"logged": True, "miss_id": out.get("miss_id")}

    return server


async def _call(operation: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The operation's answer; its failure becomes the tool's error result (is_error, with the reason)."""
    try:
        return await operation
    except OperationFailed as exc:
        raise ToolError(str(exc)) from exc


def _body(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _memory(m: dict[str, Any]) -> dict[str, Any]:
    shown = {k: m.get(k) for k in ("id", "text", "type", "tier", "namespace")}
    return shown | {"superseded": True} if m.get("superseded") else shown
