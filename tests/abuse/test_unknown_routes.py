"""(f) Requests no route matches answer in the one error shape, through the local gateway (issue 8
item 6). The template's $default route sends them to functions/fallback, on AWS as locally: before,
the gateway answered API Gateway's own ``{"message": "Not Found"}``."""

from __future__ import annotations

import pytest

from tests.abuse.conftest import Abuse, assert_error

pytestmark = pytest.mark.e2e

UNKNOWN_PATHS = [
    "/v1/nope",
    "/nope",
    "/v1",
    "/v2/sessions",
    "/v1/sessions/telegram:1/extra",  # one segment too many
    "/v1/sessions/a/b",  # a raw "/" inside a key
    "/v1/memories/mem_x/history/deep",
    "/%E2%98%83",
]
WRONG_METHODS = [  # a path that exists, with a method it does not answer
    ("PUT", "/v1/sessions", {"GET", "POST"}),
    ("PUT", "/v1/memories/search", {"DELETE", "GET", "PATCH", "POST"}),  # …/{id} matches "search" too
    ("POST", "/v1/health", {"GET"}),
    ("PATCH", "/v1/sessions/sess_x/messages", {"GET", "POST"}),
    ("POST", "/ui", {"GET"}),  # the pages are not in the OpenAPI document, but they exist
    ("DELETE", "/docs", {"GET"}),
    ("PUT", "/mcp", {"POST"}),
]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH"])
def test_unknown_routes_are_404_in_the_error_shape_with_or_without_a_key(abuse: Abuse, method: str) -> None:
    for path in UNKNOWN_PATHS:
        for key in (abuse.key_a, None, "not-a-key"):
            body = assert_error(
                abuse.call(method, path, key, data="not json", headers={"Content-Type": "text/plain"}), 404, "not_found"
            )
            assert "/docs" in body["error"]["message"]


def test_a_known_path_with_another_method_is_405_with_allow(abuse: Abuse) -> None:
    for method, path, allowed in WRONG_METHODS:
        reply = abuse.a(method, path)
        assert_error(reply, 405, "method_not_allowed")
        assert set(reply.headers["Allow"].split(", ")) == allowed, (method, path, reply.headers["Allow"])


def test_root_points_to_the_docs_without_a_key(abuse: Abuse) -> None:
    reply = abuse.call("GET", "/", None)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert body["docs"] == "/docs" and body["openapi"] == "/v1/openapi.json"
    assert abuse.call("GET", body["docs"], None).status_code == 200
    assert abuse.call("GET", body["openapi"], None).json()["paths"]["/"]["get"]["summary"] == "Where to start"
