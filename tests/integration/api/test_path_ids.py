"""A real route with a malformed id names the resource it could not find (issue 8 item 6).

API Gateway routes on the encoded path and hands the function ``rawPath`` decoded, so an id such as
``a%2Fb`` arrives as ``a/b``. Powertools' route pattern only matched URL-safe characters, so those
ids answered "No such route" instead of "Session … not found" / "Memory … not found".
"""

from __future__ import annotations

import json

from tests.abuse.routes import ID_ROUTES
from tests.support.events import ROOT, http_event, invoke

# The decoded forms of ids a client percent-encodes: a slash, a quote, a hash, a question mark,
# a backslash, a backtick, a newline, a NUL, and non-ASCII.
MALFORMED_IDS = ["a/b", 'a"b', "a#b", "a?b", "a\\b", "a`b", "a\nb", "a\x00b", "sess_é", "mem_☃/x"]


def sample_body(function: str) -> str | None:
    raw = json.loads((ROOT / "events" / f"{function}.json").read_text()).get("body")
    return str(raw) if raw else None


def test_malformed_ids_answer_the_resource_404_on_every_id_route(aws: dict[str, str]) -> None:
    wrong = []
    for route in ID_ROUTES:
        resource = "Conflict" if "/conflicts/" in route.path else route.kind.capitalize()
        for ident in MALFORMED_IDS:
            event = http_event(
                route.method, route.path, path_params={"id": ident}, raw_body=sample_body(route.function)
            )
            reply = invoke(route.function, event)
            error = (reply.json or {}).get("error") or {}
            if reply.status != 404 or error.get("code") != "not_found" or not error["message"].startswith(resource):
                wrong.append(f"{route.id} id={ident!r}: {reply}")
    assert wrong == []
