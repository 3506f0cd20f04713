"""The local API Gateway over real HTTP: routing, the v2 event, the authorizer, responses, limits."""

from __future__ import annotations

import base64
import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engram.local.runtime import LocalRuntime
from engram.local.server import MAX_BODY_BYTES
from tests.local.helpers import call


def _echo(runtime: LocalRuntime, path: str, **kwargs: Any) -> dict[str, Any]:
    reply = call(runtime.port, kwargs.pop("method", "GET"), path, **kwargs)
    assert reply.status == 200, reply.body
    return reply.json()  # type: ignore[no-any-return]


def test_static_route_beats_parameter_route(runtime: LocalRuntime) -> None:
    assert _echo(runtime, "/echo/static")["event"]["routeKey"] == "GET /echo/static"
    event = _echo(runtime, "/echo/other")["event"]
    assert event["routeKey"] == "GET /echo/{id}"
    assert event["pathParameters"] == {"id": "other"}


def test_path_parameters_are_decoded(runtime: LocalRuntime) -> None:
    event = _echo(runtime, "/echo/telegram%3A123")["event"]
    assert event["pathParameters"] == {"id": "telegram:123"}
    assert event["rawPath"] == "/echo/telegram:123"  # HTTP APIs pass the path decoded
    assert _echo(runtime, "/echo/user%40x.com/things/a%20b")["event"]["pathParameters"] == {
        "id": "user@x.com",
        "thing": "a b",
    }
    assert _echo(runtime, "/files/a/b/c.txt")["event"]["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_unknown_path_and_unknown_method_are_api_gateway_404s(runtime: LocalRuntime) -> None:
    for method, path in (("GET", "/nope"), ("DELETE", "/echo/static"), ("GET", "/echo/a/b")):
        reply = call(runtime.port, method, path)
        assert reply.status == 404
        assert reply.json() == {"message": "Not Found"}
        assert reply.header("apigw-requestid")


def test_event_has_the_http_api_v2_shape(runtime: LocalRuntime) -> None:
    reply = call(
        runtime.port,
        "POST",
        "/echo?b=2&a=1&a=3&flag=",
        body='{"x": 1}',
        headers=[
            ("Content-Type", "application/json"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("Cookie", "c1=v1; c2=v2"),
            ("User-Agent", "pytest-agent"),
            ("X-Test-Auth", "alice"),
        ],
    )
    assert reply.status == 200
    payload = reply.json()
    event, context = payload["event"], payload["context"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /echo"
    assert event["rawPath"] == "/echo"
    assert event["rawQueryString"] == "b=2&a=1&a=3&flag="
    assert event["queryStringParameters"] == {"b": "2", "a": "1,3", "flag": ""}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    headers = event["headers"]
    assert headers["x-multi"] == "one,two"
    assert headers["content-type"] == "application/json"
    assert "cookie" not in headers
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert event["body"] == '{"x": 1}'
    assert event["isBase64Encoded"] is False
    assert "pathParameters" not in event  # left out when empty, as API Gateway does

    request_context = event["requestContext"]
    assert request_context["http"] == {
        "method": "POST",
        "path": "/echo",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest-agent",
    }
    assert request_context["routeKey"] == "POST /echo"
    assert request_context["stage"] == "$default"
    assert request_context["accountId"] == "123456789012"
    assert request_context["apiId"] and request_context["domainName"].startswith("127.0.0.1")
    assert isinstance(request_context["timeEpoch"], int)
    assert request_context["time"].endswith("+0000")
    assert request_context["requestId"] == reply.header("apigw-requestid")

    assert context["function_name"] == "engram-local-EchoFunction"
    assert context["memory_limit_in_mb"] == 256
    assert context["invoked_function_arn"].endswith(":function:engram-local-EchoFunction")
    assert context["log_group_name"] == "/aws/lambda/engram-local-EchoFunction"
    assert 0 < context["remaining_ms"] <= 10_000
    assert payload["env"]["GREETING"] == "hello"
    assert payload["env"]["MODE_LABEL"] == "running-locally"


def test_non_utf8_body_is_base64(runtime: LocalRuntime) -> None:
    raw = b"\xff\xfe\x00binary"
    event = _echo(runtime, "/echo", method="POST", body=raw)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_authorizer_context_reaches_the_function(runtime: LocalRuntime) -> None:
    event = _echo(runtime, "/echo/abc", headers={"X-Test-Auth": "bob"})["event"]
    lambda_context = event["requestContext"]["authorizer"]["lambda"]
    assert lambda_context["user"] == "bob"
    assert lambda_context["route_key"] == "GET /echo/{id}"
    assert (lambda_context["event_type"], lambda_context["event_version"]) == ("REQUEST", "2.0")
    assert lambda_context["route_arn"].endswith(":local/$default/GET/echo/abc")
    assert lambda_context["identity_source"] == []


def test_authorizer_deny_is_403_and_failure_is_500(runtime: LocalRuntime) -> None:
    denied = call(runtime.port, "GET", "/echo/abc", headers={"X-Test-Auth": "deny"})
    assert (denied.status, denied.json()) == (403, {"message": "Forbidden"})
    broken = call(runtime.port, "GET", "/echo/abc", headers={"X-Test-Auth": "boom"})
    assert (broken.status, broken.json()) == (500, {"message": "Internal Server Error"})


def test_route_without_auth_skips_the_authorizer(runtime: LocalRuntime) -> None:
    event = _echo(runtime, "/public", headers={"X-Test-Auth": "deny"})["event"]
    assert "authorizer" not in event["requestContext"]


def test_response_conversion(runtime: LocalRuntime) -> None:
    full = call(runtime.port, "GET", "/echo/static")
    assert full.header("x-echo") == "yes"
    assert full.all("set-cookie") == ["a=1; Path=/", "b=2"]

    bare = call(runtime.port, "GET", "/echo/static?mode=bare")
    assert bare.status == 200
    assert bare.header("content-type") == "application/json"
    assert bare.json() == {"bare": True, "greeting": "hello"}

    binary = call(runtime.port, "GET", "/echo/static?mode=binary")
    assert binary.body == b"\x00\x01\x02\xff"

    crashed = call(runtime.port, "GET", "/echo/static?mode=crash")
    assert (crashed.status, crashed.json()) == (500, {"message": "Internal Server Error"})


def test_body_over_10_mb_is_413(runtime: LocalRuntime) -> None:
    at_limit = call(runtime.port, "POST", "/echo?mode=bare", body=b"x" * MAX_BODY_BYTES)
    assert at_limit.status == 200
    too_big = call(runtime.port, "POST", "/echo", body=b"x" * (MAX_BODY_BYTES + 1))
    assert (too_big.status, too_big.json()) == (413, {"message": "Request Entity Too Large"})

    # A client that announces a huge body and waits for "100 Continue" is refused at once.
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(200).startswith(b"HTTP/1.1 413")


def test_concurrent_requests_are_all_served(runtime: LocalRuntime) -> None:
    def put_and_get(number: int) -> tuple[int, Any]:
        put = call(runtime.port, "PUT", f"/items/c{number}", body=f'{{"n": {number}}}')
        assert put.status == 200
        got = call(runtime.port, "GET", f"/items/c{number}")
        return got.status, got.json()["value"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(put_and_get, range(24)))
    assert results == [(200, {"n": number}) for number in range(24)]


def test_keep_alive_connection_serves_several_requests(runtime: LocalRuntime) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/public")
            response = connection.getresponse()
            assert response.status == 200
            response.read()
    finally:
        connection.close()


def test_cors_preflight_and_headers_come_from_the_api(runtime: LocalRuntime) -> None:
    preflight = call(
        runtime.port,
        "OPTIONS",
        "/echo/abc",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204
    assert preflight.header("access-control-allow-origin") == "https://app.example"
    assert preflight.header("access-control-allow-methods") == "GET,POST"
    assert preflight.header("access-control-max-age") == "600"

    allowed = call(runtime.port, "GET", "/echo/static", headers={"Origin": "https://app.example"})
    assert allowed.header("access-control-allow-origin") == "https://app.example"
    assert allowed.header("access-control-expose-headers") == "x-echo"
    other = call(runtime.port, "GET", "/echo/static", headers={"Origin": "https://evil.example"})
    assert other.header("access-control-allow-origin") is None


def _raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_what_http_server_refuses_itself_is_answered_in_the_error_shape(runtime: LocalRuntime) -> None:
    huge_header = b"X-Big: " + b"a" * 70_000 + b"\r\n"
    cases = [
        (b"GET /public HTTP/1.1\r\nHost: x\r\n" + huge_header + b"\r\n", 431, "request_header_fields_too_large"),
        (b"GET /public HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 120 + b"\r\n", 431, None),
        (b"TRACE /public HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented"),
        (b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_uri_too_long"),
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    ]
    for request, status, code in cases:
        got, headers, body = _raw_exchange(runtime.port, request)
        assert got == status, (request[:40], got, body[:200])
        assert headers["content-type"] == "application/json"
        payload = json.loads(body)
        assert set(payload) == {"error", "request_id"}
        assert set(payload["error"]) == {"code", "message", "details"}
        assert payload["error"]["code"] == (code or payload["error"]["code"])
        assert payload["request_id"] == headers["apigw-requestid"]
        assert b"<html" not in body.lower() and b"aaaa" not in body
