"""Session endpoints invoked as Lambda handlers with HTTP API events, against moto tables."""

from __future__ import annotations

from typing import Any

from tests.support.events import http_event, invoke


def create(body: dict[str, Any], tenant: str = "tenant_a", headers: dict[str, str] | None = None) -> Any:
    return invoke("create_session", http_event("POST", "/v1/sessions", body=body, tenant=tenant, headers=headers))


def get(ref: str, tenant: str = "tenant_a", **query: Any) -> Any:
    return invoke(
        "get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": ref}, tenant=tenant, query=query)
    )


def test_create_returns_the_documented_fields_and_stores_the_session(aws: dict[str, str]) -> None:
    reply = create(
        {
            "agent_id": "my-assistant",
            "project": "northrelay",
            "title": "Fix email queue retry logic",
            "metadata": {"environment": "development"},
        }
    )
    assert reply.status == 201, reply
    body = reply.json
    assert body["id"].startswith("sess_") and len(body["id"]) == 31
    assert body["status"] == "active" and body["title"] == "Fix email queue retry logic"
    assert body["metadata"] == {"environment": "development"} and body["memory_count"] == 0
    assert body["contributors"] == ["my-assistant"]
    for field in ("started_at", "created_at", "updated_at"):
        assert body[field].endswith("Z")
    assert get(body["id"]).json["project"] == "northrelay"


def test_seed_spellings_name_external_id_and_ttl(aws: dict[str, str]) -> None:
    reply = create(
        {
            "name": "Customer support chat",
            "ttl_seconds": 3600,
            "context": {"customer_id": "cust_123", "plan": "pro"},
            "external_id": "telegram:123456789",
        }
    )
    assert reply.status == 201, reply
    body = reply.json
    assert body["name"] == body["title"] == "Customer support chat"
    assert body["key"] == body["external_id"] == "telegram:123456789"
    assert body["ttl_seconds"] == 3600 and body["expires_at"] is not None
    assert body["context"] == {"customer_id": "cust_123", "plan": "pro"}
    by_key = get("telegram:123456789")
    assert by_key.status == 200 and by_key.json["id"] == body["id"]


def test_bad_input_is_a_clear_4xx_in_the_error_shape(aws: dict[str, str]) -> None:
    cases = [
        ({"title": "x" * 501}, 422, "title"),
        ({"metadata": {"blob": "x" * 11_000}}, 422, "metadata"),
        ({"key": "a/../b"}, 422, "key"),
        ({"key": "k" * 256}, 422, "key"),
        ({"ttl_seconds": 0}, 422, "ttl_seconds"),
        ({"unknown_field": 1}, 422, "unknown_field"),
        ({"title": "bell\x07"}, 422, "title"),
    ]
    for body, status, field in cases:
        reply = create(body)
        assert reply.status == status, (body, reply)
        assert reply.json["error"]["code"] == "validation_error"
        assert any(d["field"] == field for d in reply.json["error"]["details"]), reply.json
        assert reply.json["request_id"]
    not_json = invoke("create_session", http_event("POST", "/v1/sessions", raw_body="{not json"))
    assert not_json.status == 400 and not_json.json["error"]["code"] == "bad_request"
    listing = invoke("list_sessions", http_event("GET", "/v1/sessions"))
    assert listing.json["total_count"] == 0  # nothing was stored by the rejected requests


def test_duplicate_key_conflicts_and_get_or_create_reuses(aws: dict[str, str]) -> None:
    first = create({"key": "user:alice:planning", "agent_id": "planner"})
    assert first.status == 201
    again = create({"key": "user:alice:planning"})
    assert again.status == 409 and again.json["error"]["code"] == "conflict"
    goc = invoke(
        "get_or_create_session",
        http_event(
            "POST",
            "/v1/sessions/get-or-create",
            body={"external_id": "user:alice:planning", "agent_id": "code-reviewer"},
        ),
    )
    assert goc.status == 200 and goc.json["created"] is False
    assert goc.json["id"] == first.json["id"]
    assert goc.json["contributors"] == ["planner", "code-reviewer"]
    fresh = invoke(
        "get_or_create_session",
        http_event("POST", "/v1/sessions/get-or-create", body={"key": "new:key", "agent_id": "a"}),
    )
    assert fresh.status == 201 and fresh.json["created"] is True


def test_tenants_cannot_see_each_other(aws: dict[str, str]) -> None:
    mine = create({"key": "shared:name", "title": "mine"}).json
    assert get(mine["id"], tenant="tenant_b").status == 404
    assert get("shared:name", tenant="tenant_b").status == 404
    theirs = create({"key": "shared:name", "title": "theirs"}, tenant="tenant_b")
    assert theirs.status == 201  # keys are unique per tenant, not globally
    patch = invoke(
        "update_session",
        http_event(
            "PATCH", "/v1/sessions/{id}", path_params={"id": mine["id"]}, body={"title": "hijack"}, tenant="tenant_b"
        ),
    )
    assert patch.status == 404
    assert get(mine["id"]).json["title"] == "mine"
    listing = invoke("list_sessions", http_event("GET", "/v1/sessions", tenant="tenant_b"))
    assert [s["title"] for s in listing.json["data"]] == ["theirs"]


def test_unauthenticated_and_rate_limited_verdicts(aws: dict[str, str]) -> None:
    denied = invoke("create_session", http_event("POST", "/v1/sessions", body={}, tenant=None))
    assert denied.status == 401 and denied.json["error"]["code"] == "unauthorized"
    limited = invoke(
        "create_session",
        http_event(
            "POST",
            "/v1/sessions",
            body={},
            authorizer={"error": "rate_limited", "message": "slow down", "retry_after": "17"},
        ),
    )
    assert limited.status == 429 and limited.headers["retry-after"] == "17"
    assert invoke("list_sessions", http_event("GET", "/v1/sessions")).json["total_count"] == 0
