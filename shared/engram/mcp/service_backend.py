"""The hosted server's backend: the services, in the Lambda, for the caller's tenant.

Each operation validates its body with the API's own request model and calls the service the
matching endpoint calls, so a tool behaves as the route does (bounds, errors, side effects).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from engram import errors
from engram.container import feedback, intelligence, memories, misses, search, sessions
from engram.mcp.tools import OperationFailed
from engram.models.intelligence import RecordTurn, StartSession
from engram.models.memories import CreateMemory, LogMiss, Reinforce, SearchMemories
from engram.models.sessions import EndSession

M = TypeVar("M", bound=BaseModel)


class ServiceBackend:
    def __init__(self, tenant_id: str) -> None:
        self._tenant = tenant_id

    async def create_memory(self, body: dict[str, Any]) -> dict[str, Any]:
        return _run(lambda: memories().create(self._tenant, _valid(CreateMemory, body)))

    async def search_memories(self, body: dict[str, Any]) -> dict[str, Any]:
        return _run(lambda: search().search_api(self._tenant, _valid(SearchMemories, body)))

    async def delete_memory(self, memory_id: str) -> dict[str, Any]:
        return _run(lambda: memories().delete(self._tenant, memory_id))

    async def start_session(self, body: dict[str, Any]) -> dict[str, Any]:
        return _run(lambda: intelligence().start(self._tenant, _valid(StartSession, body)))

    async def record_turn(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return _run(lambda: intelligence().record_turn(self._tenant, session_id, _valid(RecordTurn, body)))

    async def end_session(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return _run(lambda: sessions().end(self._tenant, session_id, _valid(EndSession, body)))

    async def reinforce(self, memory_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return _run(lambda: feedback().reinforce(self._tenant, memory_id, _valid(Reinforce, body)))

    async def log_miss(self, body: dict[str, Any]) -> dict[str, Any]:
        return _run(lambda: misses().log_miss(self._tenant, _valid(LogMiss, body)))


def _valid(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:  # field names and messages only, never the values
        details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise errors.ValidationFailed("Invalid request", details=details) from exc


def _run(call: Any) -> dict[str, Any]:
    try:
        result: BaseModel = call()
    except errors.EngramError as exc:
        fields = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in exc.details if isinstance(d, dict))
        raise OperationFailed(f"{exc.status} {exc.code}: {exc.message}" + (f" ({fields})" if fields else "")) from exc
    return result.model_dump(mode="json")
