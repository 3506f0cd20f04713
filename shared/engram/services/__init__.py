"""Behaviour, one module per use case, written against ports only (``engram.ports``, and the index,
embedder and extractor ports beside their adapters); no storage SDK is imported here, which
``make lint`` checks. :mod:`engram.container` builds these services from the settings.

- ``sessions`` — create, address, list, edit, append, end, close, delete, export sessions.
- ``intelligence`` — context injection at start, turns with refresh, extraction, summaries.
- ``session_events`` — the sessions stream: extraction, outcome learning, summaries, cascades.
- ``sweeper`` — ends idle sessions and expires sessions past their TTL.
- ``lifecycle`` — the status readers see, and whether a session still takes writes.
- ``memory_core`` — what the memory use cases share: load, the optimistic write, tiers as read,
  the index kept in step, the API shape of a memory.
- ``memories`` — memory CRUD and what the session side reads (critical memories, duplicates).
- ``search`` — search and explain: the one place memories are ranked (scoring included).
- ``feedback`` — reinforcement, outcomes, accesses and locks: what moves strength and tier.
- ``misses`` — questions memory could not answer.
- ``memory_stream`` — the memories stream: keeps the vector index in step.
- ``auth`` — API keys, rate limits and the authorizer's verdict.
- ``tiers``, ``metadata``, ``optimistic`` — the tier policy, the one metadata merge, the one
  optimistic-write loop.
"""
