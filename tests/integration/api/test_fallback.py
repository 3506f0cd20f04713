"""functions/fallback, the $default route, invoked as Lambda would invoke it (issue 8 item 6)."""

from __future__ import annotations

from typing import Any

from tests.support.events import http_event, invoke


def default_route(method: str, path: str, **kwargs: Any) -> Any:
    event = http_event(method, path, tenant=None, **kwargs)
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["requestContext"].pop("authorizer")  # the route has no authorizer
    return invoke("fallback", event)


def test_root_answers_where_to_start() -> None:
    reply = default_route("GET", "/")
    assert reply.status == 200
    assert reply.json["docs"] == "/docs" and reply.json["openapi"] == "/v1/openapi.json"


def test_unmatched_paths_are_404_and_known_paths_405_in_the_error_shape() -> None:
    for method, path in [("GET", "/v1/nope"), ("POST", "/x/y/z"), ("GET", "/v1/sessions/a/b"), ("DELETE", "/")]:
        reply = default_route(method, path, raw_body="not json", headers={"content-type": "text/plain"})
        expected = (405, "method_not_allowed") if path == "/" else (404, "not_found")
        assert (reply.status, reply.json["error"]["code"]) == expected, (method, path, reply)
        assert set(reply.json) == {"error", "request_id"} and reply.json["request_id"]
    reply = default_route("PUT", "/v1/sessions/telegram:1")
    assert reply.status == 405 and reply.headers["allow"] == "DELETE, GET, PATCH"
    assert "use DELETE, GET, PATCH" in reply.json["error"]["message"]


def test_other_methods_on_the_pages_are_405_with_allow_get() -> None:
    """/docs and /ui are not in the OpenAPI document, yet they exist: POST /ui is a 405, not a 404."""
    for method, path in [("POST", "/ui"), ("DELETE", "/docs"), ("PUT", "/ui")]:
        reply = default_route(method, path, raw_body="x", headers={"content-type": "text/plain"})
        assert (reply.status, reply.json["error"]["code"]) == (405, "method_not_allowed"), (method, path, reply)
        assert reply.headers["allow"] == "GET"
    assert default_route("POST", "/uix").status == 404
