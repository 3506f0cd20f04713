"""Bedrock adapters for the extraction and summary ports (``bedrock-runtime`` ``converse``).

Failure policy, and why:

* The model answered but not in the required shape (no JSON, wrong fields, empty text): the
  adapter logs a warning and falls back to the deterministic adapter (learned extractor,
  extractive summariser). Extraction and summaries run when a session ends, from a stream;
  a malformed answer is not transient, so raising would only retry the same record into the
  dead-letter queue, while the fallback still produces useful memories.
* The call itself failed (throttling, access denied, model not enabled, network): the adapter
  raises :class:`engram.errors.ServiceUnavailable` (503) from the botocore error. That is
  transient or an operator problem: the stream retries it and the API answers 503, rather
  than silently giving lower-quality results forever.

Individual suggestions that fail validation are dropped (and counted in the warning); the
others are kept. ``tokens_analyzed`` uses :func:`estimate_tokens` like the deterministic adapters,
so the number means the same whichever extractor is configured.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from engram.errors import ServiceUnavailable
from engram.extract.extractive import ExtractiveSummarizer
from engram.extract.ports import (
    CONTENT_MAX_CHARS,
    DEFAULT_TIERS,
    MEMORY_TYPES,
    SUMMARY_MAX_CHARS,
    ConversationMessage,
    ExtractionResult,
    Extractor,
    Suggestion,
    Summarizer,
    make_title,
)
from engram.extract.tokens import estimate_tokens

logger = logging.getLogger(__name__)

MAX_TRANSCRIPT_CHARS = 60_000  # keeps a request well inside small models' context windows
MAX_OUTPUT_TOKENS = 2_048

EXTRACTION_SYSTEM_PROMPT = f"""You extract long-term memories about the USER from a conversation.
Return ONLY a JSON object, no prose, no code fences, exactly of this shape:
{{"suggestions": [{{"title": str, "content": str, "memory_type": str,
"suggested_tier": str, "confidence": number, "entities": [str], "source_index": int}}]}}
Rules:
- memory_type is one of: {", ".join(MEMORY_TYPES)}.
- suggested_tier is one of: critical (who the user is), high (preferences, decisions,
  constraints), normal (everything else).
- confidence is between 0 and 1: how sure you are that the user stated this as true.
- content states the fact in the third person, as "User lives in Singapore." or "User prefers
  short answers.", at most {CONTENT_MAX_CHARS} characters;
  title is at most 200 characters.
- source_index is the [index] of the message the memory comes from.
- Only facts the user states about themselves or their world. No questions, no
  hypotheticals, no statements by the assistant, no small talk.
- If there is nothing worth remembering, return {{"suggestions": []}}."""

SUMMARY_SYSTEM_PROMPT = """You summarise a conversation for someone who was not in it.
Write at most five sentences in the third person ("The user ...", "The assistant ...").
Keep names, numbers, decisions and outcomes. Return only the summary text."""


class BedrockClient:
    """A lazily created, cached ``bedrock-runtime`` client and one ``converse`` call.

    Nothing happens at construction, so building an adapter at import or cold start is free;
    the boto3 client is made on the first call (or injected, e.g. a Stubber-wrapped client).
    """

    def __init__(self, *, model_id: str | None = None, region: str | None = None, client: Any = None) -> None:
        self._model_id = model_id
        self._region = region
        self._client = client

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            from engram.config import get_settings

            self._model_id = get_settings().bedrock_text_model
        return self._model_id

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            from engram.config import get_settings

            self._client = boto3.client("bedrock-runtime", region_name=self._region or get_settings().region)
        return self._client

    def converse(self, system: str, prompt: str, max_tokens: int = MAX_OUTPUT_TOKENS) -> str:
        """The model's text answer; botocore failures become :class:`ServiceUnavailable`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.converse(
                modelId=self.model_id,
                system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": 0.0},
            )
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable(f"Bedrock converse failed: {exc}") from exc
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        return "".join(str(block.get("text", "")) for block in blocks if isinstance(block, dict))


def transcript(messages: Sequence[ConversationMessage], limit: int = MAX_TRANSCRIPT_CHARS) -> str:
    """``[i] role: content`` lines; the oldest lines are dropped beyond ``limit`` chars."""
    lines = [f"[{i}] {m.role}: {' '.join((m.content or '').split())}" for i, m in enumerate(messages)]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if size + len(line) + 1 > limit and kept:
            break
        kept.append(line[:limit])
        size += len(line) + 1
    return "\n".join(reversed(kept))


class BedrockExtractor:
    """:class:`~engram.extract.ports.Extractor` backed by a Bedrock text model."""

    def __init__(self, *, client: BedrockClient | None = None, fallback: Extractor | None = None) -> None:
        self._bedrock = client or BedrockClient()
        if fallback is None:
            from engram.extract.learned import LearnedExtractor

            fallback = LearnedExtractor()
        self._fallback = fallback

    def extract(self, messages: Sequence[ConversationMessage]) -> ExtractionResult:
        tokens = sum(estimate_tokens(m.content or "") for m in messages)
        if not any((m.content or "").strip() for m in messages):
            return ExtractionResult(suggestions=[], tokens_analyzed=tokens)
        answer = self._bedrock.converse(EXTRACTION_SYSTEM_PROMPT, transcript(messages))
        try:
            suggestions = parse_suggestions(answer, len(messages))
        except ValueError as exc:
            logger.warning("Bedrock extraction unusable, using the deterministic extractor: %s", exc)
            return self._fallback.extract(messages)
        return ExtractionResult(suggestions=suggestions, tokens_analyzed=tokens)


def parse_suggestions(answer: str, message_count: int) -> list[Suggestion]:
    """Validate the model's JSON; raise ``ValueError`` if the answer as a whole is unusable.

    Tolerates code fences or prose around the object (the outermost ``{...}`` is parsed).
    Items that fail validation are dropped; tiers default from the type when missing.
    """
    start, end = answer.find("{"), answer.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    try:
        data = json.loads(answer[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg}") from exc
    items = data.get("suggestions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError('no "suggestions" list in the answer')
    out: list[Suggestion] = []
    dropped = 0
    for item in items:
        try:
            out.append(_suggestion(item, message_count))
        except (ValidationError, ValueError, TypeError, KeyError):
            dropped += 1
    if dropped:
        logger.warning("dropped %d invalid suggestion(s) from the Bedrock answer", dropped)
    return out


def _suggestion(item: Any, message_count: int) -> Suggestion:
    if not isinstance(item, dict):
        raise TypeError("suggestion is not an object")
    memory_type = item["memory_type"]
    if memory_type not in MEMORY_TYPES:
        raise ValueError(f"unknown memory_type {memory_type!r}")
    content = " ".join(str(item["content"]).split())[:CONTENT_MAX_CHARS]
    index = int(item.get("source_index", 0))
    if not 0 <= index < message_count:
        raise ValueError("source_index out of range")
    title = str(item.get("title") or "").strip()
    return Suggestion(
        title=title[:500] if title else make_title(memory_type, content),
        content=content,
        memory_type=memory_type,
        suggested_tier=item.get("suggested_tier") or DEFAULT_TIERS[memory_type],
        confidence=float(item.get("confidence", 0.5)),
        entities=[str(e) for e in item.get("entities") or []][:10],
        source_index=index,
    )


class BedrockSummarizer:
    """:class:`~engram.extract.ports.Summarizer` backed by a Bedrock text model."""

    def __init__(self, *, client: BedrockClient | None = None, fallback: Summarizer | None = None) -> None:
        self._bedrock = client or BedrockClient()
        self._fallback = fallback or ExtractiveSummarizer()

    def summarize(self, messages: Sequence[ConversationMessage], memories: Sequence[str] = ()) -> str:
        talked = any((m.content or "").strip() for m in messages)
        if not talked and not memories:
            return ""
        known = "\n".join(f"- {m}" for m in memories[:50])
        if not talked:  # a session may have memories and no messages: summarise what was learned
            prompt = f"Known memories about the user:\n{known}"
        elif memories:
            prompt = f"Known memories about the user:\n{known}\n\nConversation:\n{transcript(messages)}"
        else:
            prompt = transcript(messages)
        answer = self._bedrock.converse(SUMMARY_SYSTEM_PROMPT, prompt, max_tokens=1_024).strip()
        if not answer:
            logger.warning("Bedrock returned an empty summary, using the extractive summariser")
            return self._fallback.summarize(messages, memories)
        return str(answer[:SUMMARY_MAX_CHARS])
