"""Route selection as API Gateway HTTP APIs do it."""

from __future__ import annotations

from engram.local.server import Router
from engram.local.template import HttpRoute


def _router(*keys: str) -> Router:
    routes = []
    for key in keys:
        method, _, path = key.partition(" ")
        routes.append(HttpRoute(method=method, path=path, function_id=key, authorizer=None, api_id=""))
    return Router(routes)


def _chosen(router: Router, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    match = router.match(method, path)
    return None if match is None else (match.route.function_id, match.path_parameters)


def test_static_path_beats_parameter_whatever_the_order() -> None:
    for router in (
        _router("GET /v1/memories/{id}", "GET /v1/memories/misses"),
        _router("GET /v1/memories/misses", "GET /v1/memories/{id}"),
    ):
        assert _chosen(router, "GET", "/v1/memories/misses") == ("GET /v1/memories/misses", {})
        assert _chosen(router, "GET", "/v1/memories/mem_1") == ("GET /v1/memories/{id}", {"id": "mem_1"})


def test_leftmost_literal_segment_wins() -> None:
    router = _router("GET /a/{x}/c", "GET /{y}/b/c")
    assert _chosen(router, "GET", "/a/b/c") == ("GET /a/{x}/c", {"x": "b"})


def test_greedy_is_last_and_takes_the_rest() -> None:
    router = _router("ANY /files/{proxy+}", "GET /files/{name}")
    assert _chosen(router, "GET", "/files/one") == ("GET /files/{name}", {"name": "one"})
    assert _chosen(router, "GET", "/files/a/b/c") == ("ANY /files/{proxy+}", {"proxy": "a/b/c"})
    assert _chosen(router, "GET", "/files") is None


def test_method_beats_any() -> None:
    router = _router("ANY /things/{id}", "POST /things/{id}")
    assert _chosen(router, "POST", "/things/1") == ("POST /things/{id}", {"id": "1"})
    assert _chosen(router, "DELETE", "/things/1") == ("ANY /things/{id}", {"id": "1"})


def test_no_route_for_method_or_path_is_none() -> None:
    router = _router("GET /v1/sessions/{id}")
    assert _chosen(router, "PUT", "/v1/sessions/abc") is None
    assert _chosen(router, "GET", "/v1/sessions") is None
    assert _chosen(router, "GET", "/v1/sessions/abc/more") is None
    assert _chosen(router, "GET", "/v1/sessions/") is None


def test_parameters_are_url_decoded_once() -> None:
    router = _router("GET /v1/sessions/{id}")
    assert _chosen(router, "GET", "/v1/sessions/telegram%3A123") == ("GET /v1/sessions/{id}", {"id": "telegram:123"})
    assert _chosen(router, "GET", "/v1/sessions/user%40x.com") == ("GET /v1/sessions/{id}", {"id": "user@x.com"})
    # Decoded once: an encoded percent sign stays one level encoded.
    assert _chosen(router, "GET", "/v1/sessions/a%2525b") == ("GET /v1/sessions/{id}", {"id": "a%25b"})
    # An encoded slash is part of the parameter, not a separator.
    assert _chosen(router, "GET", "/v1/sessions/a%2Fb") == ("GET /v1/sessions/{id}", {"id": "a/b"})


def test_default_route_catches_the_rest() -> None:
    router = _router("GET /known", "ANY $default")
    assert _chosen(router, "GET", "/known") == ("GET /known", {})
    assert _chosen(router, "PATCH", "/anything/else") == ("ANY $default", {})
