"""get-or-create on the key of an expired session answers 410 (issue 9 item 9, the decision).

Before, it returned the read-only session with 200, so every write the caller then made was a 410.
Now the 410 comes at once, names the session and how to go on; deleting the expired session frees
the key, and get-or-create then starts a new one. Ended and closed sessions are still returned.
"""

from __future__ import annotations

from typing import Any

from engram import clock
from tests.support.events import http_event, invoke

T0 = 1_800_000_000.0


def get_or_create(body: dict[str, Any]) -> Any:
    return invoke("get_or_create_session", http_event("POST", "/v1/sessions/get-or-create", body=body))


def session(ref: str) -> dict[str, Any]:
    return dict(invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": ref})).json)


def test_get_or_create_on_an_expired_key_is_410_and_changes_nothing(aws: dict[str, str]) -> None:
    now = [T0]
    clock.set_clock(lambda: now[0])
    first = get_or_create({"key": "tg:1", "agent_id": "bot", "ttl_seconds": 60})
    assert first.status == 201, first
    sid = first.json["id"]
    now[0] += 61
    for body in ({"key": "tg:1"}, {"key": "tg:1", "agent_id": "other-agent"}, {"external_id": "tg:1"}):
        reply = get_or_create(body)
        assert reply.status == 410 and reply.json["error"]["code"] == "gone", reply
        assert sid in reply.json["error"]["message"] and "DELETE /v1/sessions/tg%3A1" in reply.json["error"]["message"]
    stored = session(sid)
    assert (stored["status"], stored["contributors"], stored["key"]) == ("expired", ["bot"], "tg:1")
    assert invoke("list_sessions", http_event("GET", "/v1/sessions")).json["total_count"] == 1
    # the documented way on: delete the expired session, then get-or-create starts a new one
    deleted = invoke("delete_session", http_event("DELETE", "/v1/sessions/{id}", path_params={"id": "tg:1"}))
    assert deleted.status == 200, deleted
    fresh = get_or_create({"key": "tg:1", "agent_id": "bot"})
    assert fresh.status == 201 and fresh.json["id"] != sid and fresh.json["status"] == "active", fresh


def test_ended_and_closed_sessions_are_still_returned(aws: dict[str, str]) -> None:
    for n, (route, function) in enumerate(
        [("/v1/sessions/{id}/end", "end_session"), ("/v1/sessions/{id}/close", "close_session")]
    ):
        sid = get_or_create({"key": f"done:{n}"}).json["id"]
        assert invoke(function, http_event("POST", route, path_params={"id": sid}, body={})).status == 200
        again = get_or_create({"key": f"done:{n}"})
        assert again.status == 200 and again.json["id"] == sid and again.json["created"] is False, again
