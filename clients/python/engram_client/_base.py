"""What the sync and async clients share: configuration, the retry policy, request bodies."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from engram_client.errors import EngramError

__version__ = "0.1.0"

DEFAULT_URL = "http://127.0.0.1:3000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
USER_AGENT = f"engram-client/{__version__}"

T = TypeVar("T")


def resolve(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The arguments, else ``ENGRAM_URL`` / ``ENGRAM_API_KEY``; the URL defaults to a local server."""
    url = (base_url or os.environ.get("ENGRAM_URL") or DEFAULT_URL).rstrip("/")
    key = api_key or os.environ.get("ENGRAM_API_KEY")
    if not key:
        raise EngramError("No API key: pass api_key=... or set ENGRAM_API_KEY")
    return url, key


def headers(api_key: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        **(extra or {}),
    }


class RetryPolicy:
    """Which failures are retried and how long to wait.

    Retried: 429 and 503 (honouring ``Retry-After``), 409 ``request_in_progress`` (the first
    attempt of this Idempotency-Key is still running), and requests that got no answer. Every POST
    carries an Idempotency-Key that its retries repeat, so a retry never writes twice. Without a
    ``Retry-After`` the wait grows exponentially from ``backoff`` with full jitter, at most ``max_wait``.
    """

    def __init__(self, max_retries: int = DEFAULT_MAX_RETRIES, backoff: float = 0.5, max_wait: float = 30.0) -> None:
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self.max_wait = max_wait

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries or (response is not None and not retryable(response)):
            return None
        advised = retry_after(response) if response is not None else None
        if advised is not None:
            return min(advised, self.max_wait)
        return random.uniform(0, min(self.max_wait, self.backoff * 2**attempt))


def retryable(response: httpx.Response) -> bool:
    if response.status_code in (429, 503):
        return True
    if response.status_code == 409:
        try:
            return bool(response.json()["error"]["code"] == "request_in_progress")
        except (ValueError, KeyError, TypeError):
            return False
    return False


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number of seconds or an HTTP date), if the server sent one."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def new_idempotency_key() -> str:
    return f"engram-client-{uuid.uuid4()}"


def segment(value: str) -> str:
    """A path segment: ids and session keys (``telegram:123``) are percent-encoded whole."""
    return quote(value, safe="")


def fields(**values: Any) -> dict[str, Any]:
    """A JSON body or query from keyword arguments: None means "not sent"; models become JSON."""
    return {name: jsonable(value) for name, value in values.items() if value is not None}


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def params_of(**values: Any) -> dict[str, Any]:
    return {k: ("true" if v is True else "false" if v is False else v) for k, v in fields(**values).items()}


def parse(model: type[T], response: httpx.Response) -> T:
    data = response.json()
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate(data)  # type: ignore[return-value]
    return data  # type: ignore[no-any-return]


async def asleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)
