"""(a) Every route that needs auth answers 401 in the one error shape for every bad credential."""

from __future__ import annotations

import pytest

from tests.abuse.conftest import Abuse, assert_error
from tests.abuse.routes import AUTH_ROUTES, BODY_ROUTES, Route, params

pytestmark = pytest.mark.e2e

BAD_CREDENTIALS = {
    "missing": None,
    "basic": "Basic x",
    "bearer-alone": "Bearer",
    "bearer-empty": "Bearer ",
    "unknown": "Bearer egm_this_key_was_never_issued_000000",
    "too-short": "Bearer abc",
    "revoked": "revoked",
}


@pytest.mark.parametrize("credential", list(BAD_CREDENTIALS))
@pytest.mark.parametrize("route", params(AUTH_ROUTES))
def test_bad_credentials_answer_401(abuse: Abuse, route: Route, credential: str) -> None:
    header = BAD_CREDENTIALS[credential]
    if header == "revoked":
        header = f"Bearer {abuse.revoked}"
    headers = {"Authorization": header} if header is not None else {}
    body = route.sample_body()
    reply = abuse.call(route.method, route.url(), None, headers=headers, **({"json": body} if route.takes_body else {}))
    error = assert_error(reply, 401, "unauthorized")
    assert "egm_" not in error["error"]["message"]  # the secret is never echoed


def test_public_routes_need_no_key(abuse: Abuse) -> None:
    assert abuse.call("GET", "/v1/health", None).status_code == 200
    assert abuse.call("GET", "/v1/openapi.json", None).status_code == 200


def test_auth_is_checked_before_the_body(abuse: Abuse) -> None:
    """Without a key, a malformed body must still be a 401 (no validation details to strangers)."""
    for route in BODY_ROUTES:
        if not route.exists:
            continue
        for body in ("{not json", '{"title": 5, "text": [], "messages": "x", "value": "y", "query": {}}'):
            reply = abuse.call(route.method, route.url(), None, data=body, headers={"Content-Type": "application/json"})
            assert_error(reply, 401, "unauthorized")
            assert reply.json()["error"]["details"] == []  # nothing about the request schema leaks


def test_auth_is_checked_before_the_query(abuse: Abuse) -> None:
    for route in AUTH_ROUTES:
        if route.exists and route.method == "GET":
            reply = abuse.call("GET", route.url(), None, params={"limit": "0", "include_messages": "maybe"})
            assert_error(reply, 401, "unauthorized")
            assert reply.json()["error"]["details"] == []
