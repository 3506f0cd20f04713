"""Idempotency-Key: scoped to the resource the path resolves to, and only successes are replayed
(issue 9 items 7 and 9).

Before: the key was scoped to the raw path, so one session addressed by id and then by its key
wrote twice; and a first request that failed with a 4xx was stored, so the corrected retry got
``idempotency_key_reused`` (or the stale 404 replayed) instead of being carried out.
"""

from __future__ import annotations

from typing import Any

from tests.support.events import http_event, invoke

MESSAGE = {"role": "user", "content": "exactly once"}


def create_session(key: str) -> str:
    reply = invoke("create_session", http_event("POST", "/v1/sessions", body={"key": key}))
    assert reply.status == 201, reply
    return str(reply.json["id"])


def post(function: str, route: str, ref: str, body: Any, idem: str) -> Any:
    headers = {"Idempotency-Key": idem}
    return invoke(function, http_event("POST", route, path_params={"id": ref}, body=body, headers=headers))


def message_count(ref: str) -> int:
    reply = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": ref}))
    return int(reply.json["message_count"])


def test_one_session_by_id_then_by_key_or_encoded_key_writes_once(aws: dict[str, str]) -> None:
    sid = create_session("idem:one")
    writes = [  # (function, route, body): every idempotent session route that writes
        ("append_messages", "/v1/sessions/{id}/messages", MESSAGE),
        ("record_turn", "/v1/sessions/{id}/turn", {"messages": [MESSAGE], "turn_number": 1}),
    ]
    for n, (function, route, body) in enumerate(writes):
        first = post(function, route, sid, body, f"k-{n}")
        assert first.status in (200, 201), first
        for ref in ("idem:one", sid):
            again = post(function, route, ref, body, f"k-{n}")
            assert again.status == first.status and again.headers.get("idempotent-replayed") == "true", (ref, again)
            assert again.json == first.json
    assert message_count(sid) == 2  # one append + one turn, each written once


def test_the_same_key_on_another_session_is_its_own_request(aws: dict[str, str]) -> None:
    one, two = create_session("idem:a"), create_session("idem:b")
    first = post("append_messages", "/v1/sessions/{id}/messages", one, MESSAGE, "shared")
    second = post("append_messages", "/v1/sessions/{id}/messages", "idem:b", MESSAGE, "shared")
    assert first.status == second.status == 201 and "idempotent-replayed" not in second.headers
    assert second.json["session_id"] == two and message_count(one) == message_count(two) == 1


def test_a_first_request_that_failed_with_a_4xx_is_not_replayed(aws: dict[str, str]) -> None:
    """Each class of client error: the body (422), the resource (404), the session's state (409)."""
    sid = create_session("idem:fix")
    # 422, then the corrected body under the same key is carried out
    bad = post("append_messages", "/v1/sessions/{id}/messages", sid, {"role": "robot", "content": "x"}, "k-422")
    assert bad.status == 422 and bad.json["error"]["code"] == "validation_error", bad
    fixed = post("append_messages", "/v1/sessions/{id}/messages", sid, MESSAGE, "k-422")
    assert fixed.status == 201 and "idempotent-replayed" not in fixed.headers, fixed
    # 404 (the session does not exist yet), then the same request once it does
    missing = post("append_messages", "/v1/sessions/{id}/messages", "idem:later", MESSAGE, "k-404")
    assert missing.status == 404, missing
    later = create_session("idem:later")
    retried = post("append_messages", "/v1/sessions/{id}/messages", "idem:later", MESSAGE, "k-404")
    assert retried.status == 201 and retried.json["session_id"] == later, retried
    # 409 (ended), twice: computed each time, never a stored answer
    ended = create_session("idem:ended")
    assert post("end_session", "/v1/sessions/{id}/end", ended, {"outcome": "success"}, "end").status == 200
    for _ in range(2):
        refused = post("append_messages", "/v1/sessions/{id}/messages", ended, MESSAGE, "k-409")
        assert refused.status == 409 and "idempotent-replayed" not in refused.headers, refused
    assert (message_count(sid), message_count(later), message_count(ended)) == (1, 1, 0)


def test_successes_are_still_replayed_and_another_body_is_refused(aws: dict[str, str]) -> None:
    sid = create_session("idem:ok")
    first = post("append_messages", "/v1/sessions/{id}/messages", sid, MESSAGE, "ok")
    replay = post("append_messages", "/v1/sessions/{id}/messages", "idem:ok", MESSAGE, "ok")
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json == first.json
    other = post("append_messages", "/v1/sessions/{id}/messages", sid, {"role": "user", "content": "no"}, "ok")
    assert other.status == 422 and other.json["error"]["code"] == "idempotency_key_reused", other
    assert message_count(sid) == 1
