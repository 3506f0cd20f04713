"""(b) Tenant B, holding tenant A's real ids, gets 404 everywhere and changes nothing of A's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.abuse.conftest import Abuse, assert_error
from tests.abuse.routes import AUTH_ROUTES, ID_ROUTES, Route, params

pytestmark = pytest.mark.e2e

VOLATILE = {"age_seconds", "duration_seconds", "strength", "request_id", "exported_at"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def snapshot(abuse: Abuse, sid: str, mid: str) -> dict[str, Any]:
    """Tenant A's view of its session (with messages and memories), its messages and its memory."""
    views = {
        "session": abuse.a(
            "GET", f"/v1/sessions/{sid}", params={"include_messages": "true", "include_memories": "true"}
        ),
        "messages": abuse.a("GET", f"/v1/sessions/{sid}/messages", params={"limit": 100}),
        "memory": abuse.a("GET", f"/v1/memories/{mid}"),
        "export": abuse.a("GET", f"/v1/sessions/{sid}/export"),
    }
    for name, reply in views.items():
        assert reply.status_code == 200, (name, reply.text)
    return {name: _stable(reply.json()) for name, reply in views.items()}


@pytest.mark.parametrize("route", params(ID_ROUTES))
def test_other_tenants_ids_are_404_and_change_nothing(abuse: Abuse, route: Route) -> None:
    sid, key = abuse.new_session()
    mid = abuse.new_memory()
    before = snapshot(abuse, sid, mid)
    targets = [sid, key] if route.kind == "session" else [mid]
    body = route.sample_body()
    for target in targets:
        kwargs: dict[str, Any] = {"json": body} if route.takes_body else {}
        if route.method == "DELETE" and route.kind == "session":
            kwargs["params"] = {"purge": "true", "cascade_memories": "true"}
        reply = abuse.call(route.method, route.url(target), abuse.key_b, **kwargs)
        assert_error(reply, 404, "not_found")
    assert snapshot(abuse, sid, mid) == before


@pytest.mark.parametrize("route", params([r for r in AUTH_ROUTES if not r.has_id]))
def test_other_tenants_data_never_appears(abuse: Abuse, route: Route) -> None:
    """Lists, search, explain, start … as tenant B never mention tenant A's ids or text."""
    sid, key = abuse.new_session()
    mid = abuse.new_memory()
    body = route.sample_body()
    if route.method == "POST" and isinstance(body, dict):
        if "query" in body:  # aim the query at tenant A's memory text
            body = {**body, "query": "who prefers tea"}
            body.pop("namespace", None)
        if "first_message" in body:
            body = {**body, "first_message": "who prefers tea"}
            body.pop("namespace", None)
    kwargs: dict[str, Any] = {"json": body} if route.takes_body else {"params": {"limit": 100}}
    reply = abuse.call(route.method, route.url(), abuse.key_b, **kwargs)
    assert reply.status_code < 500, reply.text
    for secret in (sid, key, mid, "tenant A"):
        assert secret not in reply.text, (secret, reply.text[:800])
