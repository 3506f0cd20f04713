# Generated from engram_client/_async/client.py by clients/python/codegen.py (unasync). Do not edit.
"""The Engram API client: the resources mirror the API's routes.

``_async/client.py`` is the one source of both clients; ``_sync/client.py`` is generated from it
by ``clients/python/codegen.py`` (unasync), so the two cannot differ but for async/await."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from engram_client import models
from engram_client._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    RetryPolicy,
    fields,
    headers,
    new_idempotency_key,
    params_of,
    parse,
    resolve,
    retry_after,
    segment,
    sleep,
)
from engram_client.errors import ConnectionFailed, error_for

T = TypeVar("T")
Message = Mapping[str, Any] | models.MessageIn
MemoryType = Literal[
    "identity", "preference", "decision", "fact", "goal", "constraint", "relationship", "event", "summary", "other"
]
Tier = Literal["critical", "high", "normal"]
Outcome = Literal["success", "partial", "failure", "abandoned"]
SearchMode = Literal["hybrid", "vector", "text"]


class Engram:
    """A client of one Engram API (a stack's URL, or ``make run``'s local server).

    ``base_url`` and ``api_key`` default to ``ENGRAM_URL`` and ``ENGRAM_API_KEY`` (the URL to
    ``http://127.0.0.1:3000``). Failures raise :class:`engram_client.EngramError` subclasses;
    429 and 503 are retried up to ``max_retries`` times, honouring ``Retry-After``. Use it as a
    context manager, or close it, to release its connections.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url, api_key = resolve(base_url, api_key)
        self.retry = RetryPolicy(max_retries)
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers(api_key, default_headers), timeout=timeout, transport=transport
        )
        self.sessions = Sessions(self)
        self.memories = Memories(self)

    def __enter__(self) -> Engram:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        model: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> T:
        """One API call, retried as :class:`~engram_client._base.RetryPolicy` says; the answer parsed
        into ``model``. A POST carries an Idempotency-Key (``idempotency_key``, else a new one)
        that every retry repeats."""
        extra = {"Idempotency-Key": idempotency_key or new_idempotency_key()} if method == "POST" else {}
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, params=params, json=json, headers=extra)
            except httpx.TransportError as exc:
                wait = self.retry.delay(attempt, None)
                if wait is None:
                    raise ConnectionFailed(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code < 400:
                    return parse(model, response)
                wait = self.retry.delay(attempt, response)
                if wait is None:
                    raise error_for(response, retry_after(response))
            attempt += 1
            sleep(wait)

    # --- what is not a session or a memory ---------------------------------------------------------

    def health(self) -> models.Health:
        return self.request("GET", "/v1/health", models.Health)

    def extract(
        self,
        conversation: Sequence[Mapping[str, Any] | models.ConversationMessage],
        *,
        namespace: str | None = None,
        session_id: str | None = None,
        save: bool | None = None,
        min_confidence: float | None = None,
        idempotency_key: str | None = None,
    ) -> models.ExtractOut:
        """Suggested memories from a conversation; ``save=True`` stores them."""
        body = fields(
            conversation=list(conversation),
            namespace=namespace,
            session_id=session_id,
            save=save,
            min_confidence=min_confidence,
        )
        return self.request("POST", "/v1/extract", models.ExtractOut, json=body, idempotency_key=idempotency_key)

    # --- iter_* : every item of a list, following its cursors ----------------------------------------

    def iter_sessions(
        self,
        *,
        status: str | None = None,
        agent_id: str | None = None,
        project: str | None = None,
        namespace: str | None = None,
        key_prefix: str | None = None,
        page_size: int = 100,
    ) -> Iterator[models.SessionOut]:
        cursor: str | None = None
        while True:
            page = self.sessions.list(
                status=status,
                agent_id=agent_id,
                project=project,
                namespace=namespace,
                key_prefix=key_prefix,
                limit=page_size,
                cursor=cursor,
            )
            for session in page.data:
                yield session
            cursor = page.next_cursor
            if not (page.has_more and cursor):
                return

    def iter_memories(
        self,
        *,
        namespace: str | None = None,
        type: MemoryType | None = None,  # noqa: A002 - the API's name
        tier: Tier | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        page_size: int = 100,
    ) -> Iterator[models.MemoryOut]:
        cursor: str | None = None
        while True:
            page = self.memories.list(
                namespace=namespace,
                type=type,
                tier=tier,
                session_id=session_id,
                agent_id=agent_id,
                limit=page_size,
                cursor=cursor,
            )
            for memory in page.data:
                yield memory
            cursor = page.next_cursor
            if not (page.has_more and cursor):
                return

    def iter_messages(self, session_id: str, *, page_size: int = 100) -> Iterator[models.MessageOut]:
        cursor: str | None = None
        while True:
            page = self.sessions.messages.list(session_id, limit=page_size, cursor=cursor)
            for message in page.data:
                yield message
            cursor = page.next_cursor
            if not (page.has_more and cursor):
                return

    def deletions(self, *, limit: int | None = None, cursor: str | None = None) -> models.DeletionsOut:
        """One page of the deletions log: receipts of what deletions removed (ids and counts)."""
        return self.request("GET", "/v1/deletions", models.DeletionsOut, params=params_of(limit=limit, cursor=cursor))

    def iter_misses(self, *, since: str | None = None, page_size: int = 100) -> Iterator[models.MissOut]:
        cursor: str | None = None
        while True:
            page = self.memories.misses(since=since, limit=page_size, cursor=cursor)
            for miss in page.data:
                yield miss
            cursor = page.next_cursor
            if not (page.has_more and cursor):
                return


class _Resource:
    def __init__(self, client: Engram) -> None:
        self._client = client


class Messages(_Resource):
    def add(
        self, session_id: str, messages: Sequence[Message], *, idempotency_key: str | None = None
    ) -> models.AppendMessagesOut:
        """Append messages (``{"role", "content"}``) to an active session, in order."""
        return self._client.request(
            "POST",
            f"/v1/sessions/{segment(session_id)}/messages",
            models.AppendMessagesOut,
            json=fields(messages=list(messages)),
            idempotency_key=idempotency_key,
        )

    def list(self, session_id: str, *, limit: int | None = None, cursor: str | None = None) -> models.PageMessageOut:
        return self._client.request(
            "GET",
            f"/v1/sessions/{segment(session_id)}/messages",
            models.PageMessageOut,
            params=params_of(limit=limit, cursor=cursor),
        )


class Context(_Resource):
    def replace(self, session_id: str, context: Mapping[str, Any]) -> models.SessionOut:
        """Replace the session's agent-state context object whole."""
        return self._client.request(
            "PUT", f"/v1/sessions/{segment(session_id)}/context", models.SessionOut, json=dict(context)
        )


class Sessions(_Resource):
    """``/v1/sessions``: a session is addressed by its id (``sess_...``) or its key (``telegram:123``)."""

    def __init__(self, client: Engram) -> None:
        super().__init__(client)
        self.messages = Messages(client)
        self.context = Context(client)

    def create(
        self,
        *,
        key: str | None = None,
        agent_id: str | None = None,
        namespace: str | None = None,
        project: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.SessionOut:
        body = fields(
            key=key,
            agent_id=agent_id,
            namespace=namespace,
            project=project,
            title=title,
            metadata=metadata,
            context=context,
            ttl_seconds=ttl_seconds,
        )
        return self._client.request(
            "POST", "/v1/sessions", models.SessionOut, json=body, idempotency_key=idempotency_key
        )

    def start(
        self,
        *,
        first_message: str | None = None,
        key: str | None = None,
        agent_id: str | None = None,
        namespace: str | None = None,
        project: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        ttl_seconds: int | None = None,
        token_budget: int | None = None,
        include_superseded: bool | None = None,
        idempotency_key: str | None = None,
    ) -> models.StartSessionOut:
        """Create a session and get the memories to inject: every critical one, and the high-tier
        ones relevant to ``first_message``. Superseded memories are injected (marked) only with
        ``include_superseded=True``."""
        body = fields(
            first_message=first_message,
            key=key,
            agent_id=agent_id,
            namespace=namespace,
            project=project,
            title=title,
            metadata=metadata,
            context=context,
            ttl_seconds=ttl_seconds,
            token_budget=token_budget,
            include_superseded=include_superseded,
        )
        return self._client.request(
            "POST", "/v1/sessions/start", models.StartSessionOut, json=body, idempotency_key=idempotency_key
        )

    def get_or_create(
        self,
        key: str,
        *,
        agent_id: str | None = None,
        namespace: str | None = None,
        project: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.SessionDetail:
        """The session with this key, created if there is none (``created`` says which)."""
        body = fields(
            key=key,
            agent_id=agent_id,
            namespace=namespace,
            project=project,
            title=title,
            metadata=metadata,
            context=context,
            ttl_seconds=ttl_seconds,
        )
        return self._client.request(
            "POST", "/v1/sessions/get-or-create", models.SessionDetail, json=body, idempotency_key=idempotency_key
        )

    def get(
        self, session_id: str, *, include_messages: bool | None = None, include_memories: bool | None = None
    ) -> models.SessionDetail:
        return self._client.request(
            "GET",
            f"/v1/sessions/{segment(session_id)}",
            models.SessionDetail,
            params=params_of(include_messages=include_messages, include_memories=include_memories),
        )

    def list(
        self,
        *,
        status: str | None = None,
        agent_id: str | None = None,
        project: str | None = None,
        namespace: str | None = None,
        key_prefix: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.PageSessionOut:
        """One page; :meth:`AsyncEngram.iter_sessions` follows the cursors."""
        params = params_of(
            status=status,
            agent_id=agent_id,
            project=project,
            namespace=namespace,
            key_prefix=key_prefix,
            limit=limit,
            cursor=cursor,
        )
        return self._client.request("GET", "/v1/sessions", models.PageSessionOut, params=params)

    def update(
        self,
        session_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ttl_seconds: int | None = None,
    ) -> models.SessionOut:
        """Edit the title, merge metadata, or change the TTL."""
        body = fields(title=title, metadata=metadata, ttl_seconds=ttl_seconds)
        return self._client.request("PATCH", f"/v1/sessions/{segment(session_id)}", models.SessionOut, json=body)

    def turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        turn_number: int | None = None,
        memories_used: Sequence[str] | None = None,
        include_superseded: bool | None = None,
        idempotency_key: str | None = None,
    ) -> models.TurnOut:
        """Record a turn; every Nth turn answers ``refresh_needed`` with ``new_context`` (superseded
        memories in it, marked, only with ``include_superseded=True``)."""
        body = fields(
            messages=list(messages),
            turn_number=turn_number,
            memories_used=list(memories_used) if memories_used is not None else None,
            include_superseded=include_superseded,
        )
        return self._client.request(
            "POST",
            f"/v1/sessions/{segment(session_id)}/turn",
            models.TurnOut,
            json=body,
            idempotency_key=idempotency_key,
        )

    def turns(self, session_id: str, *, limit: int | None = None, cursor: str | None = None) -> models.PageTurnEntryOut:
        """The session's start (turn 0) and turns: memories injected at start and on refresh, used per turn."""
        return self._client.request(
            "GET",
            f"/v1/sessions/{segment(session_id)}/turns",
            models.PageTurnEntryOut,
            params=params_of(limit=limit, cursor=cursor),
        )

    def end(
        self,
        session_id: str,
        *,
        outcome: Outcome | None = None,
        summary: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        extract_memories: bool | None = None,
        idempotency_key: str | None = None,
    ) -> models.EndSessionOut:
        body = fields(outcome=outcome, summary=summary, metadata=metadata, extract_memories=extract_memories)
        return self._client.request(
            "POST",
            f"/v1/sessions/{segment(session_id)}/end",
            models.EndSessionOut,
            json=body,
            idempotency_key=idempotency_key,
        )

    def close(
        self,
        session_id: str,
        *,
        summary: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> models.SessionOut:
        """Close the session; its summary is written into memory namespace ``session-memory``."""
        return self._client.request(
            "POST",
            f"/v1/sessions/{segment(session_id)}/close",
            models.SessionOut,
            json=fields(summary=summary, metadata=metadata),
            idempotency_key=idempotency_key,
        )

    def summarize(self, session_id: str, *, idempotency_key: str | None = None) -> models.SummarizeOut:
        return self._client.request(
            "POST",
            f"/v1/sessions/{segment(session_id)}/summarize",
            models.SummarizeOut,
            idempotency_key=idempotency_key,
        )

    def delete(
        self, session_id: str, *, cascade_memories: bool | None = None, purge: bool | None = None
    ) -> models.DeleteSessionOut:
        return self._client.request(
            "DELETE",
            f"/v1/sessions/{segment(session_id)}",
            models.DeleteSessionOut,
            params=params_of(cascade_memories=cascade_memories, purge=purge),
        )

    def export(self, session_id: str) -> dict[str, Any]:
        """The session, its messages and its memories as one JSON document."""
        return self._client.request("GET", f"/v1/sessions/{segment(session_id)}/export", dict)


class Memories(_Resource):
    """``/v1/memories``: long-term memories, their search, feedback, tiers and misses."""

    def create(
        self,
        text: str,
        *,
        title: str | None = None,
        namespace: str | None = None,
        type: MemoryType | None = None,  # noqa: A002 - the API's name
        tier: Tier | None = None,
        entities: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        source: Mapping[str, Any] | models.MemorySource | None = None,
        context: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.WrittenMemoryOut:
        """Store a memory; it is searchable when this returns. ``action`` says what the write did:
        ``created``, ``duplicate`` (the namespace had the text: that memory comes back),
        ``superseded`` (it replaced the memories in ``supersedes``) or ``conflict`` (a
        contradiction waiting for review, ``conflict_id``). ``context``: what came before it in
        the conversation (e.g. the question it answers), searched with the text."""
        body = fields(
            text=text,
            title=title,
            namespace=namespace,
            type=type,
            tier=tier,
            entities=list(entities) if entities is not None else None,
            metadata=metadata,
            session_id=session_id,
            agent_id=agent_id,
            source=source,
            context=context,
        )
        return self._client.request(
            "POST", "/v1/memories", models.WrittenMemoryOut, json=body, idempotency_key=idempotency_key
        )

    def batch_create(
        self,
        memories: Sequence[Mapping[str, Any] | models.BatchMemory],
        *,
        idempotency_key: str | None = None,
    ) -> models.BatchOut:
        """Up to 100 memories in one request; each has its own result (``created``, ``exists`` or
        ``failed`` with an error), so one bad item does not fail the rest. An ``external_id``
        makes the write repeatable: the same external id is answered ``exists``."""
        return self._client.request(
            "POST",
            "/v1/memories/batch",
            models.BatchOut,
            json=fields(memories=list(memories)),
            idempotency_key=idempotency_key,
        )

    def get(self, memory_id: str) -> models.MemoryOut:
        return self._client.request("GET", f"/v1/memories/{segment(memory_id)}", models.MemoryOut)

    def list(
        self,
        *,
        namespace: str | None = None,
        type: MemoryType | None = None,  # noqa: A002 - the API's name
        tier: Tier | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        include_superseded: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.PageMemoryOut:
        """One page, newest first; :meth:`AsyncEngram.iter_memories` follows the cursors.
        Superseded memories are listed (marked) only with ``include_superseded=True``."""
        params = params_of(
            namespace=namespace,
            type=type,
            tier=tier,
            session_id=session_id,
            agent_id=agent_id,
            include_superseded=include_superseded,
            limit=limit,
            cursor=cursor,
        )
        return self._client.request("GET", "/v1/memories", models.PageMemoryOut, params=params)

    def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        title: str | None = None,
        namespace: str | None = None,
        type: MemoryType | None = None,  # noqa: A002 - the API's name
        tier: Tier | None = None,
        entities: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        context: str | None = None,
    ) -> models.EditedMemoryOut:
        """Edit a memory; ``metadata`` is merged (a None value removes that key). A new text is read
        for its fact slot again: ``action`` says whether it superseded a memory or opened a conflict,
        ``restored`` which memories it no longer supersedes. ``context=""`` removes the context."""
        body = fields(
            text=text,
            title=title,
            namespace=namespace,
            type=type,
            tier=tier,
            entities=list(entities) if entities is not None else None,
            metadata=metadata,
            context=context,
        )
        return self._client.request("PATCH", f"/v1/memories/{segment(memory_id)}", models.EditedMemoryOut, json=body)

    def delete(self, memory_id: str) -> models.DeleteMemoryOut:
        return self._client.request("DELETE", f"/v1/memories/{segment(memory_id)}", models.DeleteMemoryOut)

    def search(
        self,
        query: str,
        *,
        namespace: str | None = None,
        namespaces: Sequence[str] | None = None,
        type: MemoryType | None = None,  # noqa: A002 - the API's name
        types: Sequence[MemoryType] | None = None,
        tier: Tier | None = None,
        tiers: Sequence[Tier] | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        top_k: int | None = None,
        threshold: float | None = None,
        mode: SearchMode | None = None,
        log_miss: bool | None = None,
        session_context: str | None = None,
        include_superseded: bool | None = None,
        idempotency_key: str | None = None,
    ) -> models.SearchOut:
        """Memories relevant to ``query``, best first (hybrid: vector + text + bonuses); only those
        scoring at least ``threshold``. ``log_miss=True`` logs a miss when nothing is found."""
        body = fields(
            query=query,
            namespace=namespace,
            namespaces=list(namespaces) if namespaces is not None else None,
            type=type,
            types=list(types) if types is not None else None,
            tier=tier,
            tiers=list(tiers) if tiers is not None else None,
            session_id=session_id,
            agent_id=agent_id,
            top_k=top_k,
            threshold=threshold,
            mode=mode,
            log_miss=log_miss,
            session_context=session_context,
            include_superseded=include_superseded,
        )
        return self._client.request(
            "POST", "/v1/memories/search", models.SearchOut, json=body, idempotency_key=idempotency_key
        )

    def explain(
        self,
        query: str,
        *,
        memory_id: str | None = None,
        namespace: str | None = None,
        namespaces: Sequence[str] | None = None,
        type: MemoryType | None = None,  # noqa: A002 - the API's name
        tier: Tier | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        top_k: int | None = None,
        threshold: float | None = None,
        mode: SearchMode | None = None,
        idempotency_key: str | None = None,
    ) -> models.ExplainOut:
        """Every score term of the candidates for ``query`` (or of one memory), and why each was included."""
        body = fields(
            query=query,
            memory_id=memory_id,
            namespace=namespace,
            namespaces=list(namespaces) if namespaces is not None else None,
            type=type,
            tier=tier,
            session_id=session_id,
            agent_id=agent_id,
            top_k=top_k,
            threshold=threshold,
            mode=mode,
        )
        return self._client.request(
            "POST", "/v1/explain", models.ExplainOut, json=body, idempotency_key=idempotency_key
        )

    def reinforce(
        self,
        memory_id: str,
        value: Literal[1, -1] = 1,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.ReinforceOut:
        """Feedback: +1 (helpful) or -1 (wrong or unhelpful); the tier follows unless locked."""
        return self._client.request(
            "POST",
            f"/v1/memories/{segment(memory_id)}/reinforce",
            models.ReinforceOut,
            json=fields(value=value, reason=reason),
            idempotency_key=idempotency_key,
        )

    def lock(self, memory_id: str, tier: Tier, *, idempotency_key: str | None = None) -> models.LockOut:
        """Pin the memory at ``tier`` (decay never demotes it)."""
        return self._client.request(
            "POST",
            f"/v1/memories/{segment(memory_id)}/lock",
            models.LockOut,
            json=fields(tier=tier),
            idempotency_key=idempotency_key,
        )

    def unlock(self, memory_id: str) -> models.LockOut:
        return self._client.request("DELETE", f"/v1/memories/{segment(memory_id)}/lock", models.LockOut)

    def miss(
        self,
        query: str,
        *,
        session_id: str | None = None,
        context: str | None = None,
        namespace: str | None = None,
        namespaces: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> models.LogMissOut:
        """Log a question memory could not answer (``namespace``/``namespaces``: where it was asked)."""
        return self._client.request(
            "POST",
            "/v1/memories/miss",
            models.LogMissOut,
            json=fields(
                query=query,
                session_id=session_id,
                context=context,
                namespace=namespace,
                namespaces=list(namespaces) if namespaces is not None else None,
            ),
            idempotency_key=idempotency_key,
        )

    def history(self, memory_id: str, *, limit: int | None = None, cursor: str | None = None) -> models.HistoryOut:
        """Every change of a memory (text, tier, lock, feedback, validity), newest first, with its cause."""
        return self._client.request(
            "GET",
            f"/v1/memories/{segment(memory_id)}/history",
            models.HistoryOut,
            params=params_of(limit=limit, cursor=cursor),
        )

    def conflicts(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> models.ConflictsOut:
        """One page of the review queue: contradictions not acted on (``status`` open, resolved or all)."""
        return self._client.request(
            "GET",
            "/v1/memories/conflicts",
            models.ConflictsOut,
            params=params_of(status=status, limit=limit, cursor=cursor),
        )

    def resolve_conflict(
        self, conflict_id: str, resolution: str, *, idempotency_key: str | None = None
    ) -> models.ResolveConflictOut:
        """``keep_new`` (the new memory supersedes the old), ``keep_old`` or ``keep_both``."""
        return self._client.request(
            "POST",
            f"/v1/memories/conflicts/{segment(conflict_id)}/resolve",
            models.ResolveConflictOut,
            json=fields(resolution=resolution),
            idempotency_key=idempotency_key,
        )

    def misses(
        self, *, limit: int | None = None, since: str | None = None, cursor: str | None = None
    ) -> models.MissesOut:
        """One page of logged misses; :meth:`AsyncEngram.iter_misses` follows the cursors."""
        return self._client.request(
            "GET", "/v1/memories/misses", models.MissesOut, params=params_of(limit=limit, since=since, cursor=cursor)
        )

    def miss_clusters(
        self,
        *,
        namespace: str | None = None,
        since: str | None = None,
        until: str | None = None,
        similarity: float | None = None,
        examples: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.MissClustersOut:
        """One page of logged misses grouped by meaning, biggest cluster first."""
        params = params_of(
            namespace=namespace,
            since=since,
            until=until,
            similarity=similarity,
            examples=examples,
            limit=limit,
            cursor=cursor,
        )
        return self._client.request("GET", "/v1/memories/misses/clusters", models.MissClustersOut, params=params)

    def replay_misses(
        self,
        *,
        namespace: str | None = None,
        cluster_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        threshold: float | None = None,
        similarity: float | None = None,
        idempotency_key: str | None = None,
    ) -> models.ReplayOut:
        """Ask the logged misses again (newest first): which does memory answer now, and with what."""
        body = fields(
            namespace=namespace,
            cluster_id=cluster_id,
            since=since,
            until=until,
            limit=limit,
            threshold=threshold,
            similarity=similarity,
        )
        return self._client.request(
            "POST", "/v1/memories/misses/replay", models.ReplayOut, json=body, idempotency_key=idempotency_key
        )
