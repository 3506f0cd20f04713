"""The one metadata merge (sessions and memories): a JSON merge patch, bounded in size."""

from __future__ import annotations

import json
from typing import Any

from engram import errors
from engram.models.common import MAX_METADATA_BYTES


def merge_metadata(current: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """``current`` updated with ``patch``; a ``null`` value removes its key (RFC 7386 at the top
    level). The merged object must stay within the metadata limit (413 otherwise)."""
    merged = {**(current or {}), **patch}
    for key in [k for k, v in patch.items() if v is None]:
        merged.pop(key, None)
    size = len(json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise errors.PayloadTooLarge(f"merged metadata would be {size} bytes; the limit is {MAX_METADATA_BYTES}")
    return merged
