"""PynamoDB models: the storage shape, separate from the API models in ``engram.models``."""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from engram.store.loading import loads_fast


def session_pk(tenant_id: str, session_id: str) -> str:
    """The partition key of a session (and of its messages)."""
    return f"{tenant_id}#{session_id}"


class _Meta:
    table_name = "unbound"
    region = "us-east-1"
    max_retry_attempts = 3
    connect_timeout_seconds = 2
    read_timeout_seconds = 5


# --- sessions -------------------------------------------------------------------------------


class SessionsByTenant(GlobalSecondaryIndex["SessionItem"]):
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute(range_key=True)


class SessionsByAgent(GlobalSecondaryIndex["SessionItem"]):
    """The agent index: one small item per (session, agent that created or joined it)."""

    class Meta:
        index_name = "by_agent"
        projection = AllProjection()

    agent_key = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute(range_key=True)


class ActiveByActivity(GlobalSecondaryIndex["SessionItem"]):
    class Meta:
        index_name = "active_by_activity"
        projection = AllProjection()

    active_bucket = UnicodeAttribute(hash_key=True)
    last_activity_at = NumberAttribute(range_key=True)


class ActiveByExpiry(GlobalSecondaryIndex["SessionItem"]):
    class Meta:
        index_name = "active_by_expiry"
        projection = AllProjection()

    active_bucket = UnicodeAttribute(hash_key=True)
    expires_at = NumberAttribute(range_key=True)


@loads_fast
class SessionItem(Model):
    """A session (``kind=session``, pk ``tenant#sess_…``), a key alias (``kind=key``,
    pk ``tenant#key#<key>``, pointing at the session) or an agent index entry (``kind=agent``,
    pk ``tenant#sess_…#agent#<agent>``, ``agent_key`` ``tenant#<agent>``: the session in
    ``by_agent``). The alias is written in the same transaction as the session, which is what
    makes keys unique and get-or-create race-free; so are the agent entries, with the session
    and with each contributor added. Only sessions carry ``tenant_id``, so only they are in
    ``by_tenant``; only agent entries carry ``agent_key``."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="session")
    tenant_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    target_id = UnicodeAttribute(null=True)  # alias → session id
    agent_key = UnicodeAttribute(null=True)  # agent entry → "<tenant>#<agent>"

    key = UnicodeAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    contributors = ListAttribute(of=UnicodeAttribute, null=True)
    namespace = UnicodeAttribute(null=True)
    project = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    summary = UnicodeAttribute(null=True)
    metadata = JSONAttribute(null=True)
    context = JSONAttribute(null=True)
    extract_memories = BooleanAttribute(null=True)
    ttl_seconds = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    message_count = NumberAttribute(default=0)
    turn_count = NumberAttribute(default=0)
    memory_count = NumberAttribute(default=0)
    memories_used = UnicodeSetAttribute(null=True)
    outcome_applied = UnicodeSetAttribute(null=True)  # memories already credited with the outcome
    started_at = NumberAttribute(null=True)
    last_activity_at = NumberAttribute(null=True)
    ended_at = NumberAttribute(null=True)
    created_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    deleted_at = NumberAttribute(null=True)
    cascade_memories = BooleanAttribute(null=True)
    summary_generated_at = NumberAttribute(null=True)
    purge_at = NumberAttribute(null=True)
    active_bucket = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)

    by_tenant = SessionsByTenant()
    by_agent = SessionsByAgent()
    active_by_activity = ActiveByActivity()
    active_by_expiry = ActiveByExpiry()


# --- messages and turns -----------------------------------------------------------------------


@loads_fast
class MessageItem(Model):
    """Messages under pk ``tenant#sess_…`` with seq 1..n; turn records under ``tenant#sess_…#turn``
    with seq = turn number (they hold the first answer, for idempotent retries)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    role = UnicodeAttribute(null=True)
    content = UnicodeAttribute(null=True)
    tool_call_id = UnicodeAttribute(null=True)
    tool_name = UnicodeAttribute(null=True)
    turn_number = NumberAttribute(null=True)
    created_at = NumberAttribute(null=True)
    response = JSONAttribute(null=True)  # turn records only
    request_hash = UnicodeAttribute(null=True)  # turn records only
    purge_at = NumberAttribute(null=True)


# --- memories and misses ------------------------------------------------------------------------


class _ByTenant(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _ByNamespace(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_namespace"
        projection = AllProjection()

    tenant_ns = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _BySession(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_session"
        projection = AllProjection()

    tenant_session = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _ByTier(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_tier"
        projection = AllProjection()

    tenant_ns_tier = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _ByContent(GlobalSecondaryIndex["MemoryItem"]):
    class Meta:
        index_name = "by_content"
        projection = AllProjection()

    tenant_ns_hash = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


class _BySlot(GlobalSecondaryIndex["MemoryItem"]):
    """Sparse: only current memories that fill a fact slot (where a contradiction is looked for)."""

    class Meta:
        index_name = "by_slot"
        projection = AllProjection()

    tenant_ns_slot = UnicodeAttribute(hash_key=True)
    memory_id = UnicodeAttribute(range_key=True)


@loads_fast
class MemoryItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    memory_id = UnicodeAttribute()
    tenant_ns = UnicodeAttribute()
    tenant_ns_tier = UnicodeAttribute()
    tenant_ns_hash = UnicodeAttribute()
    tenant_session = UnicodeAttribute(null=True)

    namespace = UnicodeAttribute(default="default")
    title = UnicodeAttribute()
    text = UnicodeAttribute()
    type = UnicodeAttribute(default="fact")
    tier = UnicodeAttribute(default="normal")
    locked = BooleanAttribute(default=False)
    feedback_score = NumberAttribute(default=0)
    access_count = NumberAttribute(default=0)
    strength = NumberAttribute(default=0)  # decayed accumulator, as of strength_at (services/tiers.py)
    strength_at = NumberAttribute(default=0)
    entities = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    source = JSONAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    metadata = JSONAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    last_accessed_at = NumberAttribute(null=True)
    version = NumberAttribute(default=1)
    embedding = BinaryAttribute(null=True, legacy_encoding=False)
    embedder = UnicodeAttribute(null=True)  # "<name>:<dimensions>" of the embedding
    purge_at = NumberAttribute(null=True)
    slot = UnicodeAttribute(null=True)
    tenant_ns_slot = UnicodeAttribute(null=True)  # set while the memory is current
    valid_from = NumberAttribute(null=True)
    valid_until = NumberAttribute(null=True)
    supersedes = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    superseded_by = UnicodeAttribute(null=True)
    sources = JSONAttribute(null=True)
    source_sessions = UnicodeSetAttribute(null=True)  # the sessions of ``sources``, for a filter
    context = UnicodeAttribute(null=True)  # what came before it in its conversation

    by_tenant = _ByTenant()
    by_namespace = _ByNamespace()
    by_session = _BySession()
    by_tier = _ByTier()
    by_content = _ByContent()
    by_slot = _BySlot()


@loads_fast
class AccessLogItem(Model):
    """An access log (:class:`engram.ports.memories.Accesses`) in the memories table, pk
    ``<tenant>#acc_…``. It has no ``memory_id``, so it is in no GSI and no memory listing; its
    INSERT on the memories stream is what settles it, its deletion what marks it settled."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    memory_ids = ListAttribute[str](of=UnicodeAttribute)  # type: ignore[arg-type]
    accessed_at = NumberAttribute()
    purge_at = NumberAttribute(null=True)  # an unsettled log (its stream record dead-lettered) expires


@loads_fast
class MissItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # tenant id
    miss_id = UnicodeAttribute(range_key=True)
    query_text = UnicodeAttribute(attr_name="query")  # not ``query``: that would hide Model.query
    session_id = UnicodeAttribute(null=True)
    context = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    purge_at = NumberAttribute(null=True)
    namespaces = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]


@loads_fast
class LedgerItem(Model):
    """Governance entries: pk ``tenant#stream`` (conflicts, deletions, history:mem_…), sk a
    time-ordered id."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    stream = UnicodeAttribute()
    created_at = NumberAttribute()
    body = JSONAttribute(null=True)
    status = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)


# --- API keys and rate limits -------------------------------------------------------------------


class KeysByKeyId(GlobalSecondaryIndex["ApiKeyItem"]):
    class Meta:
        index_name = "by_key_id"
        projection = AllProjection()

    key_id = UnicodeAttribute(hash_key=True)


class KeysByTenant(GlobalSecondaryIndex["ApiKeyItem"]):
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)


@loads_fast
class ApiKeyItem(Model):
    """pk is the SHA-256 of the secret: the secret itself is never stored."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    prefix = UnicodeAttribute(null=True)  # first characters, to recognise a key in listings
    created_at = NumberAttribute()
    revoked_at = NumberAttribute(null=True)

    by_key_id = KeysByKeyId()
    by_tenant = KeysByTenant()


@loads_fast
class RateCounterItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_at = NumberAttribute(null=True)
