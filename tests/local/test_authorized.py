"""A request's authorizer and function run one after the other in one handler process (one round
trip between the processes instead of two): the gateway answers exactly as when it invokes them
one at a time. In-process: the handler process's side (``run_authorized``) runs here."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from engram.local.lambdas import Authorized, LambdaFunction, new_namespace
from engram.local.server import Gateway, HttpResponse, IncomingRequest
from engram.local.template import parse_template
from engram.local.workers import authorized_outcome, run_authorized
from tests.local.helpers import FIXTURE_TEMPLATE


class _OneProcess:
    """A function whose requests go through ``run_authorized`` as in a handler process, counting
    the round trips a pool would make."""

    def __init__(self, function: LambdaFunction, functions: dict[str, LambdaFunction], trips: list[str]) -> None:
        self.spec = function.spec
        self.arn = function.arn
        self._function = function
        self._functions = functions
        self._trips = trips

    def invoke(self, event: Any) -> Any:
        self._trips.append(self.spec.logical_id)
        return self._function.invoke(event)

    def invoke_authorized(
        self, authorizer_id: str, authorizer_event: Any, simple_responses: bool, event: Any
    ) -> Authorized:
        self._trips.append(f"{authorizer_id}+{self.spec.logical_id}")
        payloads = (json.dumps(authorizer_event), json.dumps(event))
        reply = run_authorized(
            self._functions, authorizer_id, payloads[0], simple_responses, self.spec.logical_id, payloads[1]
        )
        return authorized_outcome(json.loads(json.dumps(reply)))  # as it crosses the connection


class _Gateways:
    def __init__(self) -> None:
        template = parse_template(FIXTURE_TEMPLATE)
        lock = threading.Lock()
        functions = {
            fid: LambdaFunction(spec, template.region, new_namespace(), lock)
            for fid, spec in template.functions.items()
        }
        self.errors: dict[str, list[str]] = {"apart": [], "together": []}
        self.trips: list[str] = []
        chained = {fid: _OneProcess(f, functions, self.trips) for fid, f in functions.items()}
        self.apart = Gateway(template, functions, self.errors["apart"].append)
        self.together = Gateway(template, chained, self.errors["together"].append)

    def both(self, path: str, auth: str) -> tuple[HttpResponse, HttpResponse]:
        path, _, query = path.partition("?")
        request = IncomingRequest(
            "GET", path, query, [("Host", "localhost"), ("X-Test-Auth", auth)], b"", "1.2.3.4", "HTTP/1.1"
        )
        return self.apart.handle(request), self.together.handle(request)


@pytest.fixture(scope="module")
def gateways() -> Iterator[_Gateways]:
    yield _Gateways()


def test_an_allowed_request_reaches_the_function_with_the_authorizers_context(gateways: _Gateways) -> None:
    gateways.trips.clear()
    apart, together = gateways.both("/echo/abc", "bob")
    assert (apart.status, together.status) == (200, 200)
    events = [json.loads(r.body)["event"] for r in (apart, together)]
    contexts = [e["requestContext"]["authorizer"]["lambda"] for e in events]
    assert contexts[0] == contexts[1]
    assert contexts[1]["user"] == "bob" and contexts[1]["route_key"] == "GET /echo/{id}"
    assert contexts[1]["route_arn"].endswith(":local/$default/GET/echo/abc")
    assert events[1]["pathParameters"] == {"id": "abc"} and events[1]["headers"]["x-test-auth"] == "bob"
    assert gateways.trips == ["AuthorizerFunction+EchoFunction"]  # one round trip, not two


@pytest.mark.parametrize(
    ("auth", "path", "status", "body", "logged"),
    [
        ("deny", "/echo/abc", 403, {"message": "Forbidden"}, None),
        ("boom", "/echo/abc", 500, {"message": "Internal Server Error"}, "authorizer TestAuthorizer failed"),
        ("bob", "/echo/abc?mode=crash", 500, {"message": "Internal Server Error"}, "EchoFunction failed"),
    ],
)
def test_a_refusal_or_a_failure_is_answered_as_when_they_run_apart(
    gateways: _Gateways, auth: str, path: str, status: int, body: dict[str, str], logged: str | None
) -> None:
    for errors in gateways.errors.values():
        errors.clear()
    apart, together = gateways.both(path, auth)
    assert (apart.status, json.loads(apart.body)) == (status, body)
    assert (together.status, json.loads(together.body)) == (status, body)
    for errors in gateways.errors.values():
        assert (logged is None and not errors) or (logged is not None and logged in errors[0]), errors
        if logged == "EchoFunction failed":
            assert "asked to crash" in errors[0]  # the handler's own traceback


def test_a_route_without_an_authorizer_is_one_plain_invocation(gateways: _Gateways) -> None:
    gateways.trips.clear()
    apart, together = gateways.both("/public", "deny")
    assert (apart.status, together.status) == (200, 200)
    assert "authorizer" not in json.loads(together.body)["event"]["requestContext"]
    assert gateways.trips == ["EchoFunction"]
