"""DynamoDB calls from local mode's handler processes, without botocore's per-call machinery.

A handler's DynamoDB call goes through the real botocore client: PynamoDB (and Powertools'
idempotency layer) build the same parameters as on Lambda, botocore serializes them and parses the
answer with its own serializer and parser, and errors are raised as the same modelled exception
classes. What is left out is what only matters against AWS over the network: resolving the endpoint
from the rule set, signing the request (SigV4 over every header), the user-agent string, the retry
and checksum hooks, and urllib3's connection pool with ``http.client``'s header parsing. Against
the local moto endpoint those cost more CPU than moto's own DynamoDB work (about 4 ms a call of
the handler process's time, measured by ``python -m bench.dynamo_calls``).

The lean path is taken only by a DynamoDB client whose endpoint is local mode's own endpoint, and
only in local mode's processes (:func:`install` is called by the handler worker); on Lambda the
handlers run botocore unchanged. An answer botocore would retry (a 5xx, throttling) or a connection
that fails is handed back to the full botocore call, which then applies its own retry policy.
``ENGRAM_LOCAL_DYNAMO_CLIENT=botocore`` turns the lean path off (for A/B measurements).
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

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


class LeanCall:
    """``_make_api_call`` for one botocore DynamoDB client that talks to the local endpoint."""

    def __init__(self, client: Any, original: Any) -> None:
        self._client = client
        self._original = original
        self._model = client.meta.service_model
        self._service_id = self._model.service_id.hyphenize()
        self._serializer = client._serializer
        self._parser = client._response_parser
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
    path. Returns False, changing nothing, when ``ENGRAM_LOCAL_DYNAMO_CLIENT=botocore``."""
    from botocore.client import BaseClient

    if not endpoint or os.environ.get(SWITCH_VARIABLE, "").strip().lower() == "botocore":
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
