"""The stdio server's backend: an Engram API over HTTP, through the SDK (``engram_client``)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from pydantic import BaseModel

from engram.mcp.tools import OperationFailed
from engram_client import AsyncEngram, EngramError


class ApiBackend:
    def __init__(self, client: AsyncEngram) -> None:
        self._client = client

    async def create_memory(self, body: dict[str, Any]) -> dict[str, Any]:
        return await _json(self._client.memories.create(**body))

    async def search_memories(self, body: dict[str, Any]) -> dict[str, Any]:
        return await _json(self._client.memories.search(**body))

    async def delete_memory(self, memory_id: str) -> dict[str, Any]:
        return await _json(self._client.memories.delete(memory_id))

    async def start_session(self, body: dict[str, Any]) -> dict[str, Any]:
        return await _json(self._client.sessions.start(**body))

    async def record_turn(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await _json(self._client.sessions.turn(session_id, **body))

    async def end_session(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await _json(self._client.sessions.end(session_id, **body))

    async def reinforce(self, memory_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await _json(self._client.memories.reinforce(memory_id, **body))

    async def log_miss(self, body: dict[str, Any]) -> dict[str, Any]:
        return await _json(self._client.memories.miss(**body))


async def _json(call: Awaitable[BaseModel]) -> dict[str, Any]:
    try:
        return (await call).model_dump(mode="json")
    except EngramError as exc:  # the API's answer (status, code, message), for the tool's caller
        raise OperationFailed(str(exc)) from exc
