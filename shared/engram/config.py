"""Settings: one pydantic model read from ``ENGRAM_*`` environment variables, validated once.

Every function gets its settings from :func:`get_settings` (cached), never from ``os.environ``
scattered through logic. Tests call :func:`reset_settings` after changing the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engram.errors import EngramError

PREFIX = "ENGRAM_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # Tables (the template passes the generated names; local mode uses these defaults).
    sessions_table: str = "engram-sessions"
    messages_table: str = "engram-messages"
    memories_table: str = "engram-memories"
    misses_table: str = "engram-misses"
    ledger_table: str = "engram-ledger"
    api_keys_table: str = "engram-api-keys"
    rate_limits_table: str = "engram-rate-limits"
    idempotency_table: str = "engram-idempotency"
    region: str = Field(default_factory=lambda: os.environ.get("AWS_REGION", "us-east-1"))

    # Abuse limits.
    rate_limit_per_minute: int = Field(default=60, ge=1, le=1_000_000)
    # What counts against a source address (services/auth.py): "all" requests (the contract: per
    # key and per source IP; two counter writes per request) or, opted into, "unverified" requests
    # only (a key not verified within api_key_cache_seconds; one counter write per request).
    rate_limit_address_scope: Literal["all", "unverified"] = "all"
    api_key_cache_seconds: int = Field(default=30, ge=0, le=3600)  # how late a revocation can take effect
    idempotency_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 86400)

    # Session lifecycle.
    inactivity_timeout_seconds: int = Field(default=7200, ge=60)
    default_session_ttl_seconds: int = Field(default=0, ge=0)  # 0: sessions do not expire
    retention_seconds: int = Field(default=30 * 86400, ge=0)  # purge delay after expiry/deletion
    refresh_every_turns: int = Field(default=5, ge=1, le=1000)
    context_token_budget: int = Field(default=2000, ge=50, le=100_000)
    extract_on_end: bool = False

    # Memory retrieval.
    embedder: Literal["hashing", "local", "bedrock"] = "hashing"
    bedrock_embedding_model: str = "amazon.titan-embed-text-v2:0"
    embedding_dimensions: int = Field(default=384, ge=8, le=4096)
    index_backend: Literal["local", "opensearch"] = "local"
    opensearch_endpoint: str = ""
    opensearch_service: Literal["aoss", "es"] = "aoss"
    opensearch_index: str = "engram-memories"
    data_dir: str = ".engram"
    # Set by the local runtime for its handler processes: the index its main process serves.
    local_index_address: str = ""  # host:port
    local_index_key: str = ""  # hex

    # Ranking (unset: the defaults documented in services/search.py) and tiers (services/tiers.py).
    score_vector_weight: float | None = Field(default=None, ge=0, le=10)
    score_text_weight: float | None = Field(default=None, ge=0, le=10)
    score_entity_weight: float | None = Field(default=None, ge=0, le=10)
    score_feedback_weight: float | None = Field(default=None, ge=0, le=10)
    score_access_weight: float | None = Field(default=None, ge=0, le=10)
    score_access_cap: int | None = Field(default=None, ge=0, le=10_000)
    score_threshold: float | None = Field(default=None, ge=0, le=10)
    memory_half_life_days: float | None = Field(default=None, gt=0, le=3650)
    tier_high_strength: float | None = Field(default=None, gt=0)
    tier_critical_strength: float | None = Field(default=None, gt=0)
    miss_retention_seconds: int = Field(default=180 * 86400, ge=0)

    # Background intelligence.
    extractor: Literal["heuristic", "learned", "bedrock"] = "learned"
    summarizer: Literal["extractive", "bedrock"] = "extractive"
    bedrock_text_model: str = "anthropic.claude-3-haiku-20240307-v1:0"

    log_level: str = "INFO"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values = {key[len(PREFIX) :].lower(): value for key, value in env.items() if key.startswith(PREFIX) and value != ""}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:  # a misconfigured deployment should say exactly what is wrong
        raise EngramError(f"invalid configuration: {describe_errors(exc)}") from exc


def describe_errors(exc: ValidationError) -> str:
    """``ENGRAM_X=value: must be at least 60; ...``: the variable, its value and its bound."""
    return "; ".join(_describe(error) for error in exc.errors())


_BOUNDS = {"ge": "at least", "gt": "greater than", "le": "at most", "lt": "less than"}
_KINDS = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
}


def _describe(error: Any) -> str:
    field = ".".join(str(part) for part in error.get("loc", ()))
    value = error.get("input")
    context = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    bound = next((f"must be {words} {context[key]}" for key, words in _BOUNDS.items() if key in context), None)
    if bound is not None:
        rule = bound
    elif kind == "literal_error" and "expected" in context:
        rule = f"must be one of {context['expected']}"
    else:
        rule = _KINDS.get(kind, str(error.get("msg", "is not valid")).lower())
    shown = f"={value}" if isinstance(value, str | int | float) else ""
    return f"{PREFIX}{field.upper()}{shown}: {rule}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
