"""(c) Hostile inputs: oversized and deeply nested bodies, odd unicode, hostile ids and keys → 4xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.abuse.conftest import Abuse, assert_error
from tests.abuse.routes import BODY_ROUTES, ID_ROUTES, Route, params

pytestmark = pytest.mark.e2e

ODD_STRINGS = {
    "lone-surrogate": "\ud800",
    "reversed-surrogates": "\udfff\ud800",
    "rtl-and-emoji": "\u202eevil\u202c \U0001f600 \u200f\u05e9\u05dc\u05d5\u05dd",
    "nul": "a\u0000b",
    "zero-width": "\u200b\ufeff\u2060",
}
HOSTILE_IDS = {
    "dotdot-slash-encoded": "..%2F..%2Fetc%2Fpasswd",
    "dotdot-fully-encoded": "%2e%2e%2f",
    "dotdot": "%2E%2E",
    "nul": "sess_%00",
    "newline": "a%0Ab",
    "escape": "%1b%5B31m",
    "rtl": "sess_%E2%80%AE",
    "10kb": "a" * 10240,
}
HOSTILE_KEYS = {
    "dotdot": "../x",
    "encoded": "%2e%2e%2f",
    "nul": "a\u0000b",
    "newline": "a\nb",
    "tab": "a\tb",
    "10kb": "k" * 10240,
    "lone-surrogate": "\ud800",
}


def _raw(route: Route, abuse: Abuse, body: str, path_id: str = "sess_01JBZ8Q7X4N5M6P7Q8R9S0T1V2") -> Any:
    return abuse.a(route.method, route.url(path_id), data=body.encode("utf-8", "surrogatepass"))


def _real_id(abuse: Abuse, route: Route) -> str:
    if route.path.endswith(("/end", "/close")):  # would leave the shared session ended
        return abuse.new_session()[0]
    return abuse.shared_id(route.kind, route.method)


@pytest.mark.parametrize("route", params(BODY_ROUTES))
def test_body_over_one_megabyte_is_413(abuse: Abuse, route: Route) -> None:
    body = route.sample_body()
    body = {**body, "padding": "x" * 1_100_000} if isinstance(body, dict) else {"padding": "x" * 1_100_000}
    reply = abuse.a(route.method, route.url(_real_id(abuse, route) if route.has_id else ""), json=body)
    assert_error(reply, 413, "payload_too_large")  # before validation: a huge body is never parsed


@pytest.mark.parametrize("shape", ["arrays", "objects", "in-a-field"])
@pytest.mark.parametrize("route", params(BODY_ROUTES))
def test_body_nested_1000_deep_is_4xx(abuse: Abuse, route: Route, shape: str) -> None:
    depth = 1000
    text = {
        "arrays": "[" * depth + "]" * depth,
        "objects": '{"a":' * depth + "1" + "}" * depth,
        "in-a-field": '{"metadata":' + '{"a":' * depth + "1" + "}" * depth + "}",
    }[shape]
    reply = _raw(route, abuse, text, _real_id(abuse, route) if route.has_id else "x")
    assert reply.status_code < 500, reply.text[:500]
    if route.sample_body():  # the route reads a body: it must refuse this one
        assert_error(reply, {400, 413, 422})
    elif reply.status_code >= 400:  # a route that ignores its body may succeed, or refuse
        assert_error(reply, {400, 409, 413, 422})


@pytest.mark.parametrize("odd", list(ODD_STRINGS))
@pytest.mark.parametrize("route", params(BODY_ROUTES))
def test_odd_unicode_in_every_string_is_never_5xx(abuse: Abuse, route: Route, odd: str) -> None:
    value = ODD_STRINGS[odd]

    def poison(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: poison(v) for k, v in node.items()}
        if isinstance(node, list):
            return [poison(v) for v in node]
        if isinstance(node, str) and node not in {"user", "assistant", "system", "tool", "success", "critical"}:
            return node[:20] + value
        return node

    body = json.dumps(poison(route.sample_body() or {}))  # ensure_ascii: "\ud800" is sent escaped
    path_id = _real_id(abuse, route) if route.has_id else "x"
    reply = _raw(route, abuse, body, path_id)
    assert reply.status_code < 500, reply.text[:500]
    if reply.status_code >= 400:
        assert_error(reply, {400, 404, 409, 413, 422})
    else:
        json.loads(reply.text)  # a success answer is valid JSON


@pytest.mark.parametrize(
    ("odd", "stored"), [("rtl-and-emoji", True), ("zero-width", True), ("lone-surrogate", False), ("nul", False)]
)
def test_odd_unicode_round_trips_or_is_refused(abuse: Abuse, odd: str, stored: bool) -> None:
    value = ODD_STRINGS[odd]
    body = json.dumps({"title": "t" + value, "metadata": {"note": value}, "context": {"k": value}})
    reply = abuse.a("POST", "/v1/sessions", data=body)
    if not stored:
        assert_error(reply, 422, "validation_error")
        return
    assert reply.status_code == 201, reply.text
    got = abuse.a("GET", f"/v1/sessions/{reply.json()['id']}").json()
    assert got["title"] == "t" + value and got["metadata"]["note"] == value and got["context"] == {"k": value}
    sid = reply.json()["id"]
    msg = abuse.a("POST", f"/v1/sessions/{sid}/messages", json={"role": "user", "content": "c" + value})
    assert msg.status_code == 201, msg.text
    listed = abuse.a("GET", f"/v1/sessions/{sid}/messages").json()["data"]
    assert listed[-1]["content"] == "c" + value


@pytest.mark.parametrize("hostile", list(HOSTILE_IDS))
@pytest.mark.parametrize("route", params(ID_ROUTES))
def test_hostile_path_ids_are_4xx(abuse: Abuse, route: Route, hostile: str) -> None:
    body = route.sample_body()
    reply = abuse.a(route.method, route.url(HOSTILE_IDS[hostile]), **({"json": body} if route.takes_body else {}))
    assert_error(reply, {400, 404, 422})
    assert len(reply.content) < 4096, f"the error echoes the whole {len(HOSTILE_IDS[hostile])}-char id back"


@pytest.mark.parametrize("hostile", list(HOSTILE_KEYS))
@pytest.mark.parametrize("route_id", ["POST /v1/sessions", "POST /v1/sessions/get-or-create"])
def test_hostile_session_keys_are_422(abuse: Abuse, route_id: str, hostile: str) -> None:
    path = route_id.split(" ", 1)[1]
    body = json.dumps({"key": HOSTILE_KEYS[hostile], "agent_id": "a"})
    reply = abuse.a("POST", path, data=body.encode("utf-8", "surrogatepass"))
    assert_error(reply, 422, "validation_error")


@pytest.mark.parametrize("hostile", list(HOSTILE_KEYS))
def test_hostile_query_values_are_never_5xx(abuse: Abuse, hostile: str) -> None:
    value = HOSTILE_KEYS[hostile].replace("\ud800", "\ufffd")
    for path, name in [
        ("/v1/sessions", "key_prefix"),
        ("/v1/sessions", "cursor"),
        ("/v1/memories", "namespace"),
        ("/v1/memories", "cursor"),
    ]:
        reply = abuse.a("GET", path, params={name: value})
        assert reply.status_code < 500, (path, name, reply.text[:300])
        if reply.status_code >= 400:
            assert_error(reply, {400, 422})
