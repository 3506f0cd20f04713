"""A cursor that was not issued as-is is a 400 on every list route (issue 9 item 9).

Before: a cursor whose decoded JSON still had the expected fields (an edited id, an edited seq)
answered 200 with an empty or shifted page, so a client could not tell a bug from the end.
Classes: an edited value re-encoded, a flipped character, a truncated cursor, a cursor of
another list, and junk.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.events import http_event, invoke

LISTS = {  # name: (function, route)
    "sessions": ("list_sessions", "/v1/sessions"),
    "messages": ("list_messages", "/v1/sessions/{id}/messages"),
    "memories": ("list_memories", "/v1/memories"),
    "misses": ("list_misses", "/v1/memories/misses"),
    "turns": ("list_turns", "/v1/sessions/{id}/turns"),
}


@pytest.fixture
def cursors(aws: dict[str, str]) -> dict[str, tuple[str, str]]:
    """A real next_cursor of every list (each holds 3 items, paged by 1), and the session id."""
    sid = ""
    for n in range(3):
        if n < 2:  # the third session is the one started below
            reply = invoke("create_session", http_event("POST", "/v1/sessions", body={"key": f"page:{n}"}))
            sid = reply.json["id"]
        body = {"text": f"Paging fact number {n} about tea", "type": "fact"}
        assert invoke("create_memory", http_event("POST", "/v1/memories", body=body)).status == 201
        miss = http_event("POST", "/v1/memories/miss", body={"query": f"unanswered question {n}"})
        assert invoke("log_miss", miss).status == 201
    message = {"role": "user", "content": "one"}
    for _ in range(3):
        post = http_event("POST", "/v1/sessions/{id}/messages", path_params={"id": sid}, body=message)
        assert invoke("append_messages", post).status == 201
    started = invoke("start_session", http_event("POST", "/v1/sessions/start", body={"key": "page:turns"}))
    turns_of = started.json["session_id"]  # its turn log: the start and two turns
    for n in (1, 2):
        turn = {"turnNumber": n, "messages": [message]}
        post = http_event("POST", "/v1/sessions/{id}/turn", path_params={"id": turns_of}, body=turn)
        assert invoke("record_turn", post).status == 200
    out = {}
    for name in LISTS:
        of = turns_of if name == "turns" else sid
        reply = page(name, of, limit="1")
        assert reply.status == 200 and reply.json["has_more"] and reply.json["next_cursor"], (name, reply)
        out[name] = (str(reply.json["next_cursor"]), of)
    return out


def page(name: str, sid: str, **query: str) -> Any:
    function, route = LISTS[name]
    params = {"id": sid} if "{id}" in route else None
    return invoke(function, http_event("GET", route, path_params=params, query=query))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def edited(cursor: str) -> list[str]:
    """The cursor's decoded JSON with each value changed in turn, re-encoded as a client would
    (with and without the cursor's check part, if it has one)."""
    head, _, check = cursor.partition(".")
    payload = json.loads(unb64(head))
    out = []
    for field, value in payload.items():
        changed = value + 1000 if isinstance(value, int) else str(value)[:-1] + ("Y" if str(value)[-1:] == "Z" else "Z")
        body = b64(json.dumps({**payload, field: changed}).encode())
        out += [body, f"{body}.{check}"] if check else [body]
    return out


def flipped(cursor: str) -> list[str]:
    out = []
    for i in (0, len(cursor) // 3, len(cursor) // 2, len(cursor) - 1):
        ch = cursor[i]
        out.append(cursor[:i] + ("A" if ch != "A" else "B") + cursor[i + 1 :])
    return out


def test_a_cursor_not_issued_as_is_is_400_on_every_list(cursors: dict[str, tuple[str, str]]) -> None:
    wrong = []
    for name, (cursor, sid) in cursors.items():
        assert page(name, sid, limit="1", cursor=cursor).status == 200  # the real one still works
        others = [c for other, (c, _) in cursors.items() if other != name]
        tampered = {
            "edited": edited(cursor),
            "flipped": flipped(cursor),
            "truncated": [cursor[:-1], cursor[: len(cursor) // 2], cursor.split(".")[0]],
            "another list's": others,
            "junk": ["x", "not a cursor", "%%%", b64(b"[]"), b64(b'{"a":1}'), "e30"],
        }
        for kind, bad_cursors in tampered.items():
            for bad in bad_cursors:
                reply = page(name, sid, limit="1", cursor=bad)
                if reply.status != 400 or reply.json["error"]["code"] != "bad_request":
                    wrong.append(f"{name} with {kind} cursor {bad!r}: {reply}")
    assert wrong == []


def test_following_cursors_visits_every_item_once(cursors: dict[str, tuple[str, str]]) -> None:
    for name, (_, sid) in cursors.items():
        seen: list[Any] = []
        cursor = None
        for _ in range(10):
            reply = page(name, sid, limit="1", **({"cursor": cursor} if cursor else {}))
            assert reply.status == 200, (name, reply)
            seen += [item.get("id", item.get("seq", item.get("turn_number"))) for item in reply.json["data"]]
            cursor = reply.json["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 3, (name, seen)
