"""A JSON body sent as a form (curl -d without a Content-Type) is a 415, without echoing it."""

from __future__ import annotations

from tests.support.events import http_event, invoke


def test_form_encoded_json_is_rejected_without_echoing_the_body(aws: dict[str, str]) -> None:
    body = '{"key":"k:1","title":"private-title-value"}'
    event = http_event(
        "POST", "/v1/sessions", raw_body=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    reply = invoke("create_session", event)
    assert reply.status == 415 and reply.json["error"]["code"] == "unsupported_media_type"
    assert "private-title-value" not in reply.raw["body"]
    assert all(len(d["field"]) <= 64 for d in reply.json["error"]["details"])
    assert invoke("list_sessions", http_event("GET", "/v1/sessions")).json["total_count"] == 0
