"""List filters that name labels are validated alike on every list (issue 9 item 9).

``GET /v1/sessions`` refused a malformed ``namespace``/``agent_id`` with a 422; ``GET /v1/memories``
took any string for ``namespace``, ``session_id`` and ``agent_id`` and answered an empty 200.
"""

from __future__ import annotations

from tests.support.events import http_event, invoke

BAD_LABELS = ["a b", "a\x00b", "tab\there", "caf\u00e9", "a?b", "<script>", "x" * 129, ""]
GOOD_LABELS = ["agent-1", "team/alpha", "user@example.com", "a:b.c+d_e"]
FILTERS = {  # function, route -> the label filters it takes
    ("list_sessions", "/v1/sessions"): ["namespace", "agent_id", "project"],
    ("list_memories", "/v1/memories"): ["namespace", "session_id", "agent_id"],
}


def test_malformed_label_filters_are_422_on_every_list(aws: dict[str, str]) -> None:
    wrong = []
    for (function, route), names in FILTERS.items():
        for name in names:
            for value in BAD_LABELS:
                reply = invoke(function, http_event("GET", route, query={name: value}))
                if reply.status != 422 or not reply.json["error"]["details"][0]["field"].endswith(name):
                    wrong.append(f"{route}?{name}={value!r}: {reply}")
    assert wrong == []


def test_well_formed_label_filters_are_accepted_and_filter(aws: dict[str, str]) -> None:
    for value in GOOD_LABELS:
        body = {"text": f"A fact kept under {value}", "namespace": value, "agent_id": value, "session_id": value}
        assert invoke("create_memory", http_event("POST", "/v1/memories", body=body)).status == 201
    for (function, route), names in FILTERS.items():
        for name in names:
            for value in GOOD_LABELS:
                reply = invoke(function, http_event("GET", route, query={name: value}))
                assert reply.status == 200, (route, name, value, reply)
                if function == "list_memories":
                    assert [m[name] for m in reply.json["data"]] == [value], (name, value)
