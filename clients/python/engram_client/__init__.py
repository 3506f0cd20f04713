"""Python client of the Engram API (sessions and long-term memory for AI agents).

    from engram_client import Engram

    client = Engram()  # ENGRAM_URL (default http://127.0.0.1:3000) and ENGRAM_API_KEY
    memory = client.memories.create("The user prefers dark mode", type="preference")
    for hit in client.memories.search("what theme does the user like?").results:
        print(hit.score, hit.text)

``AsyncEngram`` has the same methods, as coroutines. Models are in :mod:`engram_client.models`
(generated from the API's OpenAPI document); errors in :mod:`engram_client.errors`.
"""

from engram_client import models
from engram_client._async.client import AsyncEngram
from engram_client._base import __version__
from engram_client._sync.client import Engram
from engram_client.errors import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    EngramError,
    Forbidden,
    Gone,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)

__all__ = [
    "AsyncEngram",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Engram",
    "EngramError",
    "Forbidden",
    "Gone",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "__version__",
    "models",
]
