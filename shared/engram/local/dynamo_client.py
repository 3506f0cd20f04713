"""DynamoDB calls from local mode's handler processes, without botocore's per-call machinery.

A handler's DynamoDB call goes through the real botocore client: PynamoDB (and Powertools'
idempotency layer) build the same parameters as on Lambda, botocore's serializer writes them, the
answer is parsed as botocore's parser parses it (compiled per shape: :func:`compiled_parser`), and
errors are raised as the same modelled exception classes. What is left out is what only matters
against AWS over the network: resolving the endpoint from the rule set, signing the request (SigV4
over every header), the user-agent string, the retry and checksum hooks, and urllib3's connection
pool with ``http.client``'s header parsing. Against the local moto endpoint those cost as much CPU
as the endpoint's own work on the call (3.6 ms of the handler process's time a call, 0.6 ms on the
lean path: ``python -m bench.dynamo_calls`` measures both side by side).

The lean path is taken only by a DynamoDB client whose endpoint is local mode's own endpoint, and
only in local mode's processes (:func:`install` is called by the handler worker); on Lambda the
handlers run botocore unchanged. An answer botocore would retry (a 5xx, throttling) or a connection
that fails is handed back to the full botocore call, which then applies its own retry policy.
``ENGRAM_LOCAL_DYNAMO_CLIENT=botocore`` turns the lean path off (for A/B measurements).
"""

from __future__ import annotations

import functools
import os
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from botocore.client import BaseClient
from botocore.parsers import JSONParser

SWITCH_VARIABLE = "ENGRAM_LOCAL_DYNAMO_CLIENT"

# Answers the full botocore call is asked to redo: its retry policy applies to them.
_RETRIED_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)


class _Unsent(Exception):
    """The request could not be sent or answered on the lean path."""


class _Connection:
    """One keep-alive HTTP/1.1 connection to the local endpoint (per thread)."""

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def _open(self) -> None:
        sock = socket.create_connection(self._address, timeout=600)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._reader = sock, sock.makefile("rb")

    def close(self) -> None:
        if self._sock is not None:
            self._reader.close()
            self._sock.close()
        self._sock = self._reader = None

    def post(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        reused = self._sock is not None
        try:
            if not reused:
                self._open()
            return self._exchange(head, body)
        except (OSError, ValueError, _Unsent) as exc:
            self.close()
            if not reused:
                raise _Unsent(str(exc)) from exc
        # A kept-alive connection the server had closed: once more on a fresh one.
        try:
            self._open()
            return self._exchange(head, body)
        except (OSError, ValueError, _Unsent) as exc:
            self.close()
            raise _Unsent(str(exc)) from exc

    def _exchange(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self._sock is not None
        self._sock.sendall(head + body)
        reader = self._reader
        status_line = reader.readline(65537)
        if not status_line:
            raise _Unsent("connection closed")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise _Unsent(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = reader.readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise _Unsent("connection closed in the headers")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length")
        if length is None:
            raise _Unsent("answer without a Content-Length")
        data = reader.read(int(length))
        if len(data) != int(length):
            raise _Unsent("connection closed in the body")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data


def compiled_parser(parser: Any) -> Any:
    """``parser`` (botocore's JSON response parser) with each shape's parsing compiled once.

    botocore parses a DynamoDB answer by walking the output shape generically: for every attribute
    value of every item it looks up a handler by the shape's type name and tries each of the ten
    members of ``AttributeValue`` in turn. Here each shape gets a function, built once, that does
    what botocore's handler for it does (same result, same key order; tests compare them): a
    structure reads the members the value has and orders them as the shape does, a blob or a
    timestamp goes through the parser's own converters, and a type botocore's JSON parser does not
    convert is returned as it is; a structure with one member that needs neither (most attribute
    values: ``{"S": ...}``) is the parsed JSON object itself (a 50-item BatchGetItem answer: 1.0 ->
    0.8 ms, botocore 3.5 ms). A parser of any other class is returned unchanged."""
    if type(parser) is not JSONParser:
        return parser
    fast = _CompiledJSONParser.__new__(_CompiledJSONParser)
    fast.__dict__.update(parser.__dict__)
    fast._compiled = {}
    return fast


def _identity(value: Any) -> Any:
    return value


class _CompiledJSONParser(JSONParser):  # type: ignore[misc]
    _compiled: dict[str, Any]

    def _parse_shape(self, shape: Any, node: Any) -> Any:
        return self._function(shape)(node)

    def _function(self, shape: Any) -> Any:
        name = shape.name
        if name is not None:
            found = self._compiled.get(name)
            if found is not None:
                return found
        kind = shape.type_name
        # A shape's function is registered before its members' are built: shapes are recursive
        # (an AttributeValue holds a map of AttributeValues).
        function: Any
        if kind == "structure" and not shape.is_document_type and not shape.is_tagged_union:
            members: dict[str, tuple[int, str, Any]] = {}
            function = _structure(members)
            self._register(name, function)
            for position, (member_name, member_shape) in enumerate(shape.members.items()):
                json_name = member_shape.serialization.get("name", member_name)
                members[json_name] = (position, member_name, self._function(member_shape))
            return function
        if kind in ("list", "map"):
            parts: list[Any] = []
            function = _list(parts) if kind == "list" else _map(parts)
            self._register(name, function)
            parts += (
                [self._function(shape.member)]
                if kind == "list"
                else [self._function(shape.value), self._function(shape.key)]
            )
            return function
        if kind == "blob":
            function = self._blob_parser
        elif kind == "timestamp":
            function = self._timestamp_parser
        elif not hasattr(self, f"_handle_{kind}"):
            function = _identity
        else:  # any other type botocore's JSON parser converts: its own handler
            function = functools.partial(_call_handler, getattr(self, f"_handle_{kind}"), shape)
        self._register(name, function)
        return function

    def _register(self, name: str | None, function: Any) -> None:
        if name is not None:
            self._compiled[name] = function


def _call_handler(handler: Any, shape: Any, value: Any) -> Any:
    return handler(shape, value)


def _structure(members: dict[str, tuple[int, str, Any]]) -> Any:
    """botocore's ``_handle_structure``: the members present and not null, in the shape's order."""

    def structure(value: Any) -> Any:
        if value is None:
            return None
        if len(value) == 1:  # most of an answer: attribute values, each one member ({"S": ...})
            for json_name, raw in value.items():
                member = members.get(json_name)
                if member is None or raw is None:
                    return {}
                _, name, function = member
                if function is _identity and name == json_name:
                    return value  # nothing to convert or rename: the parsed JSON object itself
                return {name: function(raw)}
        found = []
        for json_name, raw in value.items():
            member = members.get(json_name)
            if member is not None and raw is not None:
                found.append((member, raw))
        if len(found) == 1:
            (_, name, function), raw = found[0]
            return {name: function(raw)}
        found.sort(key=lambda entry: entry[0][0])
        return {name: function(raw) for (_, name, function), raw in found}

    return structure


def _list(parts: list[Any]) -> Any:
    """botocore's ``_handle_list`` (a null element stays null)."""

    def parse_list(value: Any) -> Any:
        member = parts[0]
        return [None if item is None else member(item) for item in value]

    return parse_list


def _map(parts: list[Any]) -> Any:
    """botocore's ``_handle_map``."""

    def parse_map(value: Any) -> Any:
        item, key = parts
        if key is _identity:  # string keys, as all of DynamoDB's are
            return {name: item(raw) for name, raw in value.items()}
        return {key(name): item(raw) for name, raw in value.items()}

    return parse_map


class LeanCall:
    """``_make_api_call`` for one botocore DynamoDB client that talks to the local endpoint."""

    def __init__(self, client: Any, original: Any) -> None:
        self._client = client
        self._original = original
        self._model = client.meta.service_model
        self._service_id = self._model.service_id.hyphenize()
        self._serializer = client._serializer
        self._parser = compiled_parser(client._response_parser)
        parts = urlsplit(client.meta.endpoint_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        credentials = client._request_signer._credentials
        access_key = getattr(credentials, "access_key", None) or "local"
        # moto reads the region (and the account, from the key) from the SigV4 credential scope;
        # nothing checks the signature.
        self._authorization = (
            f"AWS4-HMAC-SHA256 Credential={access_key}/20200101/{client.meta.region_name}/"
            "dynamodb/aws4_request, SignedHeaders=host, Signature=local"
        )
        self._local = threading.local()

    def _connection(self) -> _Connection:
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _Connection(self._host, self._port)
        return connection

    def __call__(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        client = self._client
        operation = self._model.operation_model(operation_name)
        context = {
            "client_region": client.meta.region_name,
            "client_config": client.meta.config,
            "has_streaming_input": operation.has_streaming_input,
            "auth_type": operation.resolved_auth_type,
            "unsigned_payload": operation.unsigned_payload,
        }
        params = client._emit_api_params(api_params=api_params, operation_model=operation, context=context)
        request = self._serializer.serialize_to_request(params, operation)
        body = request["body"]
        if isinstance(body, str):
            body = body.encode("utf-8")
        lines = [f"POST / HTTP/1.1\r\nHost: {self._host}:{self._port}\r\nAuthorization: {self._authorization}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in request["headers"].items()]
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        try:
            status, headers, data = self._connection().post("".join(lines).encode("latin-1"), body)
        except _Unsent:
            return self._original(client, operation_name, api_params)
        response = {
            "headers": headers,
            "status_code": status,
            "body": data,
            "context": {"operation_name": operation.name},
        }
        parsed = self._parser.parse(response, operation.output_shape)
        if status >= 300:
            code = parsed.get("Error", {}).get("Code")
            if status >= 500 or code in _RETRIED_CODES:
                return self._original(client, operation_name, api_params)
            error_shape = self._model.shape_for_error_code(code) if code else None
            if error_shape is not None:
                parsed.update(self._parser.parse(response, error_shape))
        parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
        if status >= 300:
            raise client.exceptions.from_code(parsed.get("Error", {}).get("Code"))(parsed, operation_name)
        return parsed


def attach(client: Any) -> None:
    """Put one botocore DynamoDB client on the lean path (whatever its endpoint)."""
    original = type(client)._make_api_call
    client._make_api_call = LeanCall(client, _installed.get("original", original))


_installed: dict[str, Any] = {}


def install(endpoint: str) -> bool:
    """Send every DynamoDB call this process makes to ``endpoint`` (local mode's) on the lean
    path. Returns False, changing nothing, when ``ENGRAM_LOCAL_DYNAMO_CLIENT=botocore``; any value
    but ``lean`` or ``botocore`` is refused (the handler process reports it and the server stops)."""
    choice = os.environ.get(SWITCH_VARIABLE, "").strip().lower() or "lean"
    if choice not in ("lean", "botocore"):
        raise ValueError(f"invalid configuration: {SWITCH_VARIABLE}={choice}: must be lean or botocore")
    if not endpoint or choice == "botocore":
        return False
    _installed["endpoint"] = endpoint.rstrip("/")
    if getattr(BaseClient._make_api_call, "_engram_lean", False):
        return True
    original = _installed["original"] = BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        lean = self.__dict__.get("_engram_lean_call")
        if lean is None:
            lean = self.__dict__["_engram_lean_call"] = _lean_call_for(self, original)
        if lean is False:
            return original(self, operation_name, api_params)
        return lean(operation_name, api_params)

    _make_api_call._engram_lean = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    return True


def _lean_call_for(client: Any, original: Any) -> LeanCall | bool:
    meta = client.meta
    if meta.service_model.service_name != "dynamodb":
        return False
    if (meta.endpoint_url or "").rstrip("/") != _installed.get("endpoint"):
        return False
    return LeanCall(client, original)
