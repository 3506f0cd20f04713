"""The local API Gateway: HTTP in, HTTP API (payload 2.0) events to the handlers, HTTP out.

What API Gateway does in front of a Lambda integration is reproduced here, because handlers
must not be able to tell the difference: route selection (static segments beat ``{param}``,
``{proxy+}`` last, method beats ``ANY``), path parameters decoded once, the v2 event and its
request context, the Lambda REQUEST authorizer and its context, the 10 MB body limit, the
response conversion (including "a bare dict is a 200 JSON body") and API Gateway's own error
bodies (``{"message": "Not Found"}``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from engram.local.lambdas import (
    Authorized,
    AuthorizerInvocationError,
    Invokable,
    authorizer_verdict,
    failure_traceback,
)
from engram.local.template import (
    ACCOUNT_ID,
    API_ID,
    AuthorizerSpec,
    HttpApiSpec,
    HttpRoute,
    SamTemplate,
)

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API payload limit
MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda synchronous response limit
DISCARD_LIMIT_BYTES = 64 * 1024 * 1024  # beyond this an oversized body is not even read
STAGE = "$default"

RequestLogger = Callable[[str, str, int, float], None]


# --------------------------------------------------------------------------------------------
# Routing

_STATIC, _PARAM, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


class Router:
    """Chooses the route API Gateway would choose for a method and raw (encoded) path."""

    def __init__(self, routes: list[HttpRoute]) -> None:
        self._routes: list[tuple[HttpRoute, list[tuple[int, str]]]] = []
        self._default: HttpRoute | None = None
        for route in routes:
            if route.path == "$default":
                self._default = route
                continue
            segments: list[tuple[int, str]] = []
            for part in route.path.strip("/").split("/") if route.path != "/" else []:
                if part.startswith("{") and part.endswith("+}"):
                    segments.append((_GREEDY, part[1:-2]))
                elif part.startswith("{") and part.endswith("}"):
                    segments.append((_PARAM, part[1:-1]))
                else:
                    segments.append((_STATIC, part))
            self._routes.append((route, segments))

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        parts = raw_path[1:].split("/") if raw_path not in ("", "/") else []
        best: tuple[tuple[Any, ...], RouteMatch] | None = None
        for route, segments in self._routes:
            if route.method not in (method, "ANY"):
                continue
            parameters = _match_segments(segments, parts)
            if parameters is None:
                continue
            kinds = tuple(kind for kind, _ in segments)
            # Greedy routes only when nothing else fits; then the more literal route, segment
            # by segment from the left; then an explicit method over ANY.
            rank = (_GREEDY in kinds, kinds, route.method == "ANY")
            if best is None or rank < best[0]:
                best = (rank, RouteMatch(route, parameters))
        if best is not None:
            return best[1]
        if self._default is not None:
            return RouteMatch(self._default, {})
        return None


def _match_segments(segments: list[tuple[int, str]], parts: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, (kind, value) in enumerate(segments):
        if kind == _GREEDY:
            rest = parts[index:]
            if not rest or not any(rest):
                return None
            parameters[value] = unquote("/".join(rest))
            return parameters
        if index >= len(parts) or parts[index] == "":
            return None
        if kind == _STATIC:
            if unquote(parts[index]) != value:
                return None
        else:
            parameters[value] = unquote(parts[index])
    return parameters if len(parts) == len(segments) else None


# --------------------------------------------------------------------------------------------
# Events


@dataclass
class IncomingRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]  # as received, in order, repeated names kept
    body: bytes
    source_ip: str
    protocol: str


def new_request_id() -> str:
    return base64.b64encode(os.urandom(11)).decode("ascii")


def _common_parts(request: IncomingRequest, match: RouteMatch) -> dict[str, Any]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers.setdefault("x-forwarded-proto", "http")
    host = headers.get("host", "localhost")
    headers.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    parts: dict[str, Any] = {
        "routeKey": match.route.route_key,
        "rawPath": _event_path(request),
        "rawQueryString": request.raw_query,
        "headers": headers,
    }
    # API Gateway leaves these keys out when they would be empty.
    if cookies:
        parts["cookies"] = cookies
    if query:
        parts["queryStringParameters"] = query
    if match.path_parameters:
        parts["pathParameters"] = dict(match.path_parameters)
    return parts


def _event_path(request: IncomingRequest) -> str:
    # HTTP APIs hand Lambda the path percent-decoded, in rawPath as in requestContext.http.path
    # (unlike REST APIs and function URLs), so "/sessions/telegram%3A1" arrives as
    # "/sessions/telegram:1" and a handler's own router sees the same value as pathParameters.
    return unquote(request.raw_path)


def _request_context(
    request: IncomingRequest, match: RouteMatch, request_id: str, now: float, headers: dict[str, str]
) -> dict[str, Any]:
    host = headers.get("host", "localhost")
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": request.method,
            "path": _event_path(request),
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": match.route.route_key,
        "stage": STAGE,
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }


def build_http_event(
    request: IncomingRequest,
    match: RouteMatch,
    request_id: str,
    now: float,
    authorizer_context: dict[str, Any] | None,
    parts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload 2.0 event for a request (``parts``: the request's
    :func:`_common_parts`, when the authorizer's event has them already)."""
    parts = parts or _common_parts(request, match)
    context = _request_context(request, match, request_id, now, parts["headers"])
    if authorizer_context is not None:
        context["authorizer"] = {"lambda": authorizer_context}
    event: dict[str, Any] = {"version": "2.0", **parts, "requestContext": context}
    if request.body:
        try:
            event["body"] = request.body.decode("utf-8")
            event["isBase64Encoded"] = False
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def build_authorizer_event(
    request: IncomingRequest,
    match: RouteMatch,
    authorizer: AuthorizerSpec,
    request_id: str,
    now: float,
    region: str,
    parts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The HTTP API Lambda authorizer (payload 2.0, REQUEST) event."""
    parts = parts or _common_parts(request, match)
    identity = [parts["headers"][h] for h in authorizer.identity_headers if h in parts["headers"]]
    query = parts.get("queryStringParameters") or {}
    identity += [query[q] for q in authorizer.identity_query if q in query]
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{API_ID}/{STAGE}/"
        f"{request.method}{_event_path(request)}",
        "identitySource": identity,
        **parts,
        "requestContext": _request_context(request, match, request_id, now, parts["headers"]),
    }


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_error(status: int, message: str, request_id: str) -> HttpResponse:
    """A response API Gateway itself produces (its handlers never run)."""
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), ("apigw-requestid", request_id)], body)


def lambda_response(result: Any, request_id: str) -> HttpResponse:
    """Convert a handler's return value to HTTP as API Gateway does for payload 2.0."""
    headers: list[tuple[str, str]] = []
    if isinstance(result, dict) and "statusCode" in result:
        status = int(result["statusCode"])
        if not 100 <= status <= 599:
            raise ValueError(f"statusCode {status} is not an HTTP status")
        for name, value in (result.get("headers") or {}).items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                headers.append((str(name), _header_value(value)))
        for cookie in result.get("cookies") or []:
            headers.append(("Set-Cookie", str(cookie)))
        raw = result.get("body")
        if raw is None:
            body = b""
        elif result.get("isBase64Encoded"):
            body = base64.b64decode(str(raw))
        else:
            body = (raw if isinstance(raw, str) else json.dumps(raw)).encode("utf-8")
    else:
        # A function that returns valid JSON without a statusCode: 200, the JSON as the body.
        status = 200
        headers.append(("Content-Type", "application/json"))
        body = (result if isinstance(result, str) else json.dumps(result)).encode("utf-8")
    headers.append(("apigw-requestid", request_id))
    return HttpResponse(status, headers, body)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------------------------
# The gateway


class AuthorizerFailure(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


class Gateway:
    """Routes one request through the authorizer and the route's function."""

    def __init__(
        self,
        template: SamTemplate,
        functions: Mapping[str, Invokable],
        log_error: Callable[[str], None],
    ) -> None:
        self.template = template
        self.router = Router(template.routes)
        self.functions = functions
        self._log_error = log_error

    def handle(self, request: IncomingRequest) -> HttpResponse:
        request_id = new_request_id()
        now = time.time()
        match = self.router.match(request.method, request.raw_path)
        # API Gateway answers a CORS preflight itself, whether or not an OPTIONS route exists.
        api = self.template.api_for(match.route) if match else next(iter(self.template.apis.values()), None)
        if request.method == "OPTIONS" and api is not None and api.cors is not None:
            preflight = self._preflight(request, api, request_id)
            if preflight is not None:
                return preflight
        if match is None:
            response = gateway_error(404, "Not Found", request_id)
            return _with_cors(response, request, api)
        if len(request.body) > MAX_BODY_BYTES:
            return gateway_error(413, "Request Entity Too Large", request_id)
        # Parsed once for both events (the same trace id in both, as API Gateway gives them).
        parts = _common_parts(request, match)
        authorizer = api.authorizers[match.route.authorizer] if match.route.authorizer and api is not None else None
        authorizer_event: dict[str, Any] | None = None
        if authorizer is not None:
            authorizer_event = build_authorizer_event(
                request, match, authorizer, request_id, now, self.template.region, parts
            )
            if len(authorizer_event["identitySource"]) < len(authorizer.identity_headers) + len(
                authorizer.identity_query
            ):
                # A missing identity source is rejected before the authorizer runs.
                return _with_cors(gateway_error(401, "Unauthorized", request_id), request, api)
        event = build_http_event(request, match, request_id, now, None, parts)
        function = self.functions[match.route.function_id]
        try:
            result, elapsed = self._run(function, event, authorizer, authorizer_event, request_id)
            response = lambda_response(result, request_id)
        except AuthorizerFailure as failure:
            return _with_cors(failure.response, request, api)
        except Exception as exc:  # noqa: BLE001 - Lambda reports it; API Gateway answers 500
            self._log_error(f"{match.route.function_id} failed on {match.route.route_key}:\n" + failure_traceback(exc))
            return _with_cors(gateway_error(500, "Internal Server Error", request_id), request, api)
        if elapsed > function.spec.timeout_seconds:
            self._log_error(
                f"{match.route.function_id} took {elapsed:.1f}s, beyond its Timeout of "
                f"{function.spec.timeout_seconds:g}s: on AWS this request would fail"
            )
        if len(response.body) > MAX_LAMBDA_RESPONSE_BYTES:
            self._log_error(
                f"{match.route.function_id} returned {len(response.body)} bytes, beyond Lambda's 6 MB response limit"
            )
            return _with_cors(gateway_error(500, "Internal Server Error", request_id), request, api)
        return _with_cors(response, request, api)

    def _run(
        self,
        function: Invokable,
        event: dict[str, Any],
        authorizer: AuthorizerSpec | None,
        authorizer_event: dict[str, Any] | None,
        request_id: str,
    ) -> tuple[Any, float]:
        """The function's result for ``event`` and how long it ran, after the authorizer, if the
        route has one, allowed the request (else :class:`AuthorizerFailure`)."""
        if authorizer is not None:
            assert authorizer_event is not None
            chained = getattr(function, "invoke_authorized", None)
            if chained is not None:
                # Both in one handler process, one after the other (see PooledFunction).
                try:
                    outcome: Authorized = chained(
                        authorizer.function_id, authorizer_event, authorizer.simple_responses, event
                    )
                except AuthorizerInvocationError as exc:
                    raise self._authorizer_failed(authorizer, exc, request_id) from exc
                if outcome.allowed:
                    return outcome.result, outcome.seconds
                self._verdict(authorizer, outcome.authorizer_result, request_id)
                raise AssertionError("a request the authorizer did not allow reached its function")
            try:
                verdict = self.functions[authorizer.function_id].invoke(authorizer_event)
            except Exception as exc:
                raise self._authorizer_failed(authorizer, exc, request_id) from exc
            event["requestContext"]["authorizer"] = {"lambda": self._verdict(authorizer, verdict, request_id)}
        started = time.monotonic()
        result = function.invoke(event)
        return result, time.monotonic() - started

    def _authorizer_failed(self, spec: AuthorizerSpec, exc: Exception, request_id: str) -> AuthorizerFailure:
        self._log_error(f"authorizer {spec.name} failed:\n" + failure_traceback(exc))
        return AuthorizerFailure(gateway_error(500, "Internal Server Error", request_id))

    def _verdict(self, spec: AuthorizerSpec, result: Any, request_id: str) -> dict[str, Any]:
        """The context of an authorizer's response that allows the request (else :class:`AuthorizerFailure`)."""
        allowed, context = authorizer_verdict(spec.simple_responses, result)
        if allowed is None:
            self._log_error(f"authorizer {spec.name} returned an unusable response: {result!r}")
            raise AuthorizerFailure(gateway_error(500, "Internal Server Error", request_id))
        if not allowed:
            raise AuthorizerFailure(gateway_error(403, "Forbidden", request_id))
        return context

    def _preflight(self, request: IncomingRequest, api: HttpApiSpec, request_id: str) -> HttpResponse | None:
        headers = {name.lower(): value for name, value in request.headers}
        origin = headers.get("origin")
        if not origin or "access-control-request-method" not in headers:
            return None
        cors = api.cors or {}
        response = HttpResponse(204, [("apigw-requestid", request_id)], b"")
        if _allowed_origin(cors, origin):
            response.headers += [
                ("Access-Control-Allow-Origin", _allowed_origin(cors, origin) or origin),
                ("Access-Control-Allow-Methods", ",".join(cors.get("AllowMethods") or ["*"])),
                ("Access-Control-Allow-Headers", ",".join(cors.get("AllowHeaders") or ["*"])),
            ]
            if cors.get("MaxAge") is not None:
                response.headers.append(("Access-Control-Max-Age", str(cors["MaxAge"])))
        return response


def _allowed_origin(cors: dict[str, Any], origin: str) -> str | None:
    origins = cors.get("AllowOrigins") or []
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def _with_cors(response: HttpResponse, request: IncomingRequest, api: HttpApiSpec | None) -> HttpResponse:
    if api is None or api.cors is None:
        return response
    origin = next((v for n, v in request.headers if n.lower() == "origin"), None)
    allowed = _allowed_origin(api.cors, origin) if origin else None
    if allowed:
        response.headers.append(("Access-Control-Allow-Origin", allowed))
        expose = api.cors.get("ExposeHeaders")
        if expose:
            response.headers.append(("Access-Control-Expose-Headers", ",".join(expose)))
        if api.cors.get("AllowCredentials"):
            response.headers.append(("Access-Control-Allow-Credentials", "true"))
    return response


# --------------------------------------------------------------------------------------------
# HTTP


class _BodyTooLarge(Exception):
    pass


class GatewayHTTPServer(ThreadingHTTPServer):
    """A threading server that can stop gracefully: in-flight requests finish, idle
    keep-alive connections are closed, then the threads are joined."""

    daemon_threads = False  # server_close() joins the request threads
    allow_reuse_address = True
    request_queue_size = 128  # the default backlog of 5 refuses bursts of concurrent clients

    def __init__(self, address: tuple[str, int], gateway: Gateway, log_request: RequestLogger | None) -> None:
        self.gateway = gateway
        self.log_request = log_request
        self.draining = False
        self._connections: dict[_RequestHandler, bool] = {}  # handler → busy
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def track(self, handler: _RequestHandler, busy: bool) -> None:
        with self._connections_lock:
            self._connections[handler] = busy

    def untrack(self, handler: _RequestHandler) -> None:
        with self._connections_lock:
            self._connections.pop(handler, None)

    def drain(self) -> None:
        """Stop accepting, let in-flight requests finish, close idle connections, join."""
        self.draining = True
        self.shutdown()
        with self._connections_lock:
            for handler, busy in self._connections.items():
                if not busy:  # wakes the thread blocked reading the next request
                    with contextlib.suppress(OSError):
                        handler.connection.shutdown(socket.SHUT_RD)
        self.server_close()


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "engram-local"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is dropped after this
    # The head and the body of a response are written apart; with Nagle's algorithm the body waits
    # for the client to acknowledge the head, which it delays up to 40 ms on a kept-alive connection.
    disable_nagle_algorithm = True
    server: GatewayHTTPServer

    def handle(self) -> None:
        self.server.track(self, busy=False)
        try:
            super().handle()
        finally:
            self.server.untrack(self)

    def parse_request(self) -> bool:
        self.server.track(self, busy=True)
        return super().parse_request()

    def do_request(self) -> None:
        started = time.monotonic()
        raw_path, _, raw_query = self.path.partition("?")
        if not raw_path.startswith("/"):  # absolute-form request target
            raw_path = "/" + raw_path.split("://", 1)[-1].partition("/")[2]
        try:
            body = self._read_body()
        except _BodyTooLarge:
            self.close_connection = True  # the rest of the body is never read
            response = gateway_error(413, "Request Entity Too Large", new_request_id())
        except (ValueError, OSError):
            self.close_connection = True
            response = gateway_error(400, "Bad Request", new_request_id())
        else:
            request = IncomingRequest(
                method=self.command,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            response = self.server.gateway.handle(request)
        self._send(response)
        if self.server.log_request is not None:
            elapsed_ms = (time.monotonic() - started) * 1000
            self.server.log_request(self.command, self.path, response.status, elapsed_ms)
        self.server.track(self, busy=False)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_request

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            # Read (and drop) a moderately oversized body so the client, still sending,
            # gets the 413 rather than a reset connection.
            remaining = length if length <= DISCARD_LIMIT_BYTES else 0
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            raise _BodyTooLarge
        return self.rfile.read(length) if length else b""

    def handle_expect_100(self) -> bool:
        # A client that asked before sending learns of the limit without sending the body.
        if int(self.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(gateway_error(413, "Request Entity Too Large", new_request_id()))
            if self.server.log_request is not None:
                self.server.log_request(self.command, self.path, 413, 0.0)
            return False
        return super().handle_expect_100()

    def _send(self, response: HttpResponse) -> None:
        if self.server.draining:
            self.close_connection = True
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server answers itself (a header or request line too long, a method it has no
        handler for, a malformed request) in the service's one error shape instead of an HTML page.
        The stdlib's message may quote the request, so only the status is described."""
        status = HTTPStatus(code)
        request_id = new_request_id()
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        self.request_version = self.protocol_version  # an unparsable request line reads as HTTP/0.9: no status line
        error = {"code": status.phrase.lower().replace(" ", "_").replace("-", "_"), "message": status.phrase}
        body = json.dumps({"error": {**error, "details": []}, "request_id": request_id}).encode()
        self.send_response_only(code)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", "application/json")
        self.send_header("apigw-requestid", request_id)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write("engram.local: " + (format % args) + "\n")
