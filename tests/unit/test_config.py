"""A misconfigured deployment says which variable is wrong, its value and the bound it breaks."""

from __future__ import annotations

import pytest

from engram.config import load_settings
from engram.errors import EngramError


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"ENGRAM_INACTIVITY_TIMEOUT_SECONDS": "5"}, "ENGRAM_INACTIVITY_TIMEOUT_SECONDS=5: must be at least 60"),
        ({"ENGRAM_IDEMPOTENCY_TTL_SECONDS": "999999999"}, "ENGRAM_IDEMPOTENCY_TTL_SECONDS=999999999: must be at most"),
        ({"ENGRAM_MEMORY_HALF_LIFE_DAYS": "0"}, "ENGRAM_MEMORY_HALF_LIFE_DAYS=0: must be greater than 0"),
        ({"ENGRAM_EXTRACT_ON_END": "maybe"}, "ENGRAM_EXTRACT_ON_END=maybe: must be true or false"),
        ({"ENGRAM_INDEX_BACKEND": "faiss"}, "ENGRAM_INDEX_BACKEND=faiss: must be one of 'local' or 'opensearch'"),
    ],
)
def test_invalid_setting_names_variable_value_and_bound(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(EngramError) as refused:
        load_settings(environ)
    assert expected in str(refused.value)


def test_every_invalid_setting_is_reported_at_once() -> None:
    with pytest.raises(EngramError) as refused:
        load_settings({"ENGRAM_REFRESH_EVERY_TURNS": "0", "ENGRAM_CONTEXT_TOKEN_BUDGET": "10"})
    message = str(refused.value)
    assert "ENGRAM_REFRESH_EVERY_TURNS=0: must be at least 1" in message
    assert "ENGRAM_CONTEXT_TOKEN_BUDGET=10: must be at least 50" in message


def test_valid_settings_load() -> None:
    assert load_settings({"ENGRAM_INACTIVITY_TIMEOUT_SECONDS": "60"}).inactivity_timeout_seconds == 60
