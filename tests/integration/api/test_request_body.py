"""The request-body gate on every body route (issue 9 items 1, 2, 3, 5), by class of input.

Every route that takes a body (read from template.yaml, so a new one is covered) answers, in the
one error shape and before anything is stored:
- 415 for any media type but JSON (text, XML, octet-stream, form, multipart, a non-UTF-8 charset);
- 422 for a JSON value that is not an object (an array was "first element used" before); ``null``
  is no body (a route with an optional body documents it as nullable);
- 400 for NaN, Infinity, -Infinity or a number beyond a 64-bit float, wherever it sits.
``application/json`` in any case, with ``charset=utf-8``, and a body with no Content-Type are JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.abuse.routes import BODY_ROUTES, Route
from tests.support.events import http_event, invoke

NON_JSON_MEDIA_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/xml",
    "application/octet-stream",
    "application/x-www-form-urlencoded",  # curl -d without -H
    "multipart/form-data; boundary=xyz",
    "application/json-seq",
    "application/json; charset=latin-1",
    "application/jsonx",
]
JSON_MEDIA_TYPES = [
    "application/json",
    "APPLICATION/JSON",
    "Application/Json; Charset=UTF-8",
    'application/json;charset="utf-8"',
    " application/json ; charset=utf8",
]
NON_OBJECT_BODIES = {
    "array-of-objects": '[{"text": "one"}, {"text": "two"}]',
    "empty-array": "[]",
    "string": '"hello"',
    "number": "42",
    "boolean": "true",
}
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1.5e400"]
PLACES = {  # where the number sits: every body field is a candidate, nested or not
    "top-level": '{"metadata": {"a": 1}, "x": NUMBER}',
    "metadata": '{"metadata": {"a": NUMBER}}',
    "context": '{"context": {"deep": {"list": [1, NUMBER]}}}',
    "array": "[NUMBER]",
}


@pytest.fixture
def session_id(aws: dict[str, str]) -> str:
    reply = invoke(
        "create_session",
        http_event("POST", "/v1/sessions", body={"key": "gate:1", "metadata": {"m": 1}, "context": {"c": 1}}),
    )
    assert reply.status == 201, reply
    return str(reply.json["id"])


def send(route: Route, session_id: str, body: str, content_type: str | None) -> Any:
    event = http_event(
        route.method,
        route.path,
        path_params={"id": session_id} if route.has_id else None,
        raw_body=body,
        headers={"content-type": content_type} if content_type is not None else None,
    )
    if content_type is None:
        del event["headers"]["content-type"]
    return invoke(route.function, event)


def assert_error(reply: Any, status: int, code: str) -> None:
    assert reply.status == status, reply
    assert set(reply.json) == {"error", "request_id"} and reply.json["request_id"]
    assert reply.json["error"]["code"] == code and set(reply.json["error"]) == {"code", "message", "details"}


def assert_nothing_changed(session_id: str) -> None:
    """The seeded session is as created, and no other session, memory or miss exists."""
    got = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": session_id})).json
    assert (got["metadata"], got["context"], got["message_count"], got["status"]) == ({"m": 1}, {"c": 1}, 0, "active")
    assert got["title"] is None and got["ttl_seconds"] is None
    assert invoke("list_sessions", http_event("GET", "/v1/sessions")).json["total_count"] == 1
    assert invoke("list_memories", http_event("GET", "/v1/memories")).json["total_count"] == 0
    assert invoke("list_misses", http_event("GET", "/v1/memories/misses")).json["total_count"] == 0


def valid_body(route: Route) -> str:
    return json.dumps(route.sample_body() or {})


def refusals(session_id: str, bodies: dict[str, tuple[str, str]], status: int, code: str) -> list[str]:
    """Send each (body, content type) to every body route; return what was not refused as expected."""
    wrong = []
    for route in BODY_ROUTES:
        for label, (body, content_type) in bodies.items():
            reply = send(route, session_id, body.replace("$VALID", valid_body(route)), content_type)
            shape_ok = reply.json is not None and set(reply.json) == {"error", "request_id"}
            if reply.status != status or not shape_ok or reply.json["error"]["code"] != code:
                wrong.append(f"{route.id} with {label}: {reply}")
    return wrong


def test_any_media_type_but_json_is_415_on_every_body_route(session_id: str) -> None:
    cases = {ct: ("$VALID", ct) for ct in NON_JSON_MEDIA_TYPES}
    assert refusals(session_id, cases, 415, "unsupported_media_type") == []
    reply = send(BODY_ROUTES[0], session_id, "{}", "text/plain")
    assert_error(reply, 415, "unsupported_media_type")
    assert "application/json" in reply.json["error"]["message"] and "text/plain" not in reply.raw["body"]
    assert_nothing_changed(session_id)


def test_a_json_value_that_is_not_an_object_is_422_on_every_body_route(session_id: str) -> None:
    cases = {name: (body, "application/json") for name, body in NON_OBJECT_BODIES.items()}
    assert refusals(session_id, cases, 422, "validation_error") == []
    reply = send(BODY_ROUTES[0], session_id, NON_OBJECT_BODIES["array-of-objects"], "application/json")
    assert "must be a JSON object, not an array" in reply.json["error"]["message"]
    assert_nothing_changed(session_id)


def test_non_finite_numbers_anywhere_are_400_on_every_body_route(session_id: str) -> None:
    cases = {
        f"{n} in {place}": (body.replace("NUMBER", n), "application/json")
        for n in NON_FINITE
        for place, body in PLACES.items()
    }
    assert refusals(session_id, cases, 400, "bad_request") == []
    reply = send(BODY_ROUTES[0], session_id, PLACES["metadata"].replace("NUMBER", "NaN"), "application/json")
    assert reply.json["error"]["details"][0]["type"] == "number_not_finite"
    assert_nothing_changed(session_id)


def test_json_media_type_variants_and_no_content_type_are_read_as_json(aws: dict[str, str]) -> None:
    variants: list[str | None] = [*JSON_MEDIA_TYPES, None]
    for n, content_type in enumerate(variants):
        route = Route("POST", "/v1/sessions", "create_session", auth=True)
        reply = send(route, "", json.dumps({"key": f"variant:{n}", "metadata": {"n": n}}), content_type)
        assert reply.status == 201, (content_type, reply)
        assert reply.json["key"] == f"variant:{n}" and reply.json["metadata"] == {"n": n}
    assert invoke("list_sessions", http_event("GET", "/v1/sessions")).json["total_count"] == len(variants)


def test_finite_numbers_at_the_edges_are_stored_exactly(session_id: str) -> None:
    context = {"big": 1.7976931348623157e308, "small": 5e-324, "neg": -1e308, "int": 10**30}
    route = Route("PUT", "/v1/sessions/{id}/context", "replace_context", auth=True)
    reply = send(route, session_id, json.dumps(context), "application/json")
    assert reply.status == 200, reply
    got = invoke("get_session", http_event("GET", "/v1/sessions/{id}", path_params={"id": session_id})).json
    assert got["context"] == context


def test_curl_default_form_body_on_put_context_is_415_and_stores_nothing(session_id: str) -> None:
    """Issue 9 item 5: curl -X PUT …/context -d '{"plan":"pro"}' without -H sends a form."""
    route = Route("PUT", "/v1/sessions/{id}/context", "replace_context", auth=True)
    reply = send(route, session_id, '{"plan":"pro"}', "application/x-www-form-urlencoded")
    assert_error(reply, 415, "unsupported_media_type")
    assert_nothing_changed(session_id)


def test_null_is_no_body_where_the_body_is_optional_and_missing_where_it_is_not(session_id: str) -> None:
    end = Route("POST", "/v1/sessions/{id}/end", "end_session", auth=True)
    reply = send(end, session_id, "null", "application/json")
    assert reply.status == 200 and reply.json["status"] == "ended", reply
    create = Route("POST", "/v1/sessions", "create_session", auth=True)
    assert_error(send(create, "", "null", "application/json"), 422, "validation_error")


def test_a_body_on_a_route_without_body_params_follows_the_same_rules(session_id: str) -> None:
    """Summarize reads no body; a body it is sent must still be JSON (one rule for every request)."""
    route = Route("POST", "/v1/sessions/{id}/summarize", "summarize_session", auth=True)
    assert_error(send(route, session_id, "hello", "text/plain"), 415, "unsupported_media_type")
    assert_error(send(route, session_id, "[1]", "application/json"), 422, "validation_error")


# --- the routes added with the clients: batch writes and MCP ---------------------------------------

MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
MCP_LIST_TOOLS = '{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}'


def mcp(body: str, content_type: str | None) -> Any:
    event = http_event("POST", "/mcp", raw_body=body, headers=MCP_HEADERS)
    if content_type is None:
        del event["headers"]["content-type"]
    else:
        event["headers"]["content-type"] = content_type
    return invoke("mcp", event)


def test_every_body_route_is_gated_including_batch_and_mcp() -> None:
    """The gate's tests above run over BODY_ROUTES, read from template.yaml: the new routes are in it."""
    assert {"POST /v1/memories/batch", "POST /mcp", "POST /v1/sessions", "PUT /v1/sessions/{id}/context"} <= {
        route.id for route in BODY_ROUTES
    }


def test_mcp_reads_json_in_any_spelling_and_refuses_the_rest_in_the_error_shape(aws: dict[str, str]) -> None:
    for content_type in [*JSON_MEDIA_TYPES, None]:
        reply = mcp(MCP_LIST_TOOLS, content_type)
        assert reply.status == 200, (content_type, reply)
        assert reply.json["id"] == 1 and any(t["name"] == "recall" for t in reply.json["result"]["tools"])
    for content_type in NON_JSON_MEDIA_TYPES:
        assert_error(mcp(MCP_LIST_TOOLS, content_type), 415, "unsupported_media_type")
    # A JSON-RPC batch (an array) is refused like every array body: MCP dropped batching in 2025-06-18.
    assert_error(mcp(f"[{MCP_LIST_TOOLS}, {MCP_LIST_TOOLS}]", "application/json"), 422, "validation_error")
    remember = '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "remember", "arguments": '
    for number in NON_FINITE:
        body = remember + '{"text": "x", "metadata": {"n": NUMBER}}}}'.replace("NUMBER", number)
        assert_error(mcp(body, "application/json"), 400, "bad_request")
    assert invoke("list_memories", http_event("GET", "/v1/memories")).json["total_count"] == 0


def test_batch_writes_json_in_any_spelling_and_an_array_of_memories_is_422(aws: dict[str, str]) -> None:
    route = Route("POST", "/v1/memories/batch", "batch_create_memories", auth=True)
    for n, content_type in enumerate(JSON_MEDIA_TYPES):
        reply = send(route, "", json.dumps({"memories": [{"text": f"fact {n}"}]}), content_type)
        assert reply.status == 200 and reply.json["results"][0]["status"] == "created", (content_type, reply)
    bare = json.dumps([{"text": "one"}, {"text": "two"}])  # the list without its envelope
    assert_error(send(route, "", bare, "application/json"), 422, "validation_error")
    assert_error(
        send(route, "", json.dumps({"memories": [{"text": "x"}]}), "text/plain"), 415, "unsupported_media_type"
    )
    body = '{"memories": [{"text": "y", "metadata": {"n": 1e999}}]}'
    assert_error(send(route, "", body, "application/json"), 400, "bad_request")
    texts = sorted(m["text"] for m in invoke("list_memories", http_event("GET", "/v1/memories")).json["data"])
    assert texts == [f"fact {n}" for n in range(len(JSON_MEDIA_TYPES))]
