"""POST /v1/extract with save: everything is validated before anything is written (issue 9 item 4).

Before: suggestions were saved one by one, so a suggestion the memory model refuses (here: a
control character carried over from a message) answered 422 after the ones before it were stored,
and the corrected retry then reinforced the half-saved memories instead of creating them.
"""

from __future__ import annotations

from typing import Any

from tests.support.events import http_event, invoke

GOOD = [
    {"role": "user", "content": "I prefer tea over coffee."},
    {"role": "user", "content": "My name is Alice and I work at Acme."},
]
# Each class of suggestion the memory model refuses, placed after good ones.
REFUSED = {
    "control character": {"role": "user", "content": "My favourite colour is teal\x01."},
    "escape sequence": {"role": "user", "content": "I always use the \x1b[31m red theme."},
}


def extract(conversation: list[dict[str, str]], **extra: Any) -> Any:
    body = {"conversation": conversation, "save": True, "namespace": "crm", **extra}
    return invoke("extract", http_event("POST", "/v1/extract", body=body))


def memories() -> list[dict[str, Any]]:
    return list(invoke("list_memories", http_event("GET", "/v1/memories", query={"limit": 100})).json["data"])


def test_a_refused_suggestion_saves_nothing_and_the_retry_creates_everything(aws: dict[str, str]) -> None:
    for name, bad in REFUSED.items():
        preview = invoke("extract", http_event("POST", "/v1/extract", body={"conversation": [*GOOD, bad]}))
        assert preview.status == 200 and len(preview.json["suggestions"]) >= 3, (name, preview)
        reply = extract([*GOOD, bad])
        assert reply.status == 422 and reply.json["error"]["code"] == "validation_error", (name, reply)
        assert any(d["field"].startswith("suggestions.") for d in reply.json["error"]["details"]), reply
        assert memories() == [], name
    retry = extract(GOOD)
    assert retry.status == 200 and retry.json["saved"] == len(retry.json["suggestions"]) >= 2, retry
    assert {s["action"] for s in retry.json["suggestions"]} == {"created"}
    assert sorted(m["feedback_score"] for m in memories()) == [0] * retry.json["saved"]
