"""sweep_sessions with a controllable clock: idle → ended/abandoned, past TTL → expired."""

from __future__ import annotations

import boto3

from engram import clock
from tests.support.events import LambdaContext, function_module, http_event, invoke


def test_sweep_abandons_idle_and_expires_ttl_sessions_once(aws: dict[str, str]) -> None:
    now = [1_800_000_000.0]
    clock.set_clock(lambda: now[0])

    def create(body: dict) -> str:
        return invoke("create_session", http_event("POST", "/v1/sessions", body=body)).json["id"]

    idle = create({"title": "idle"})
    expiring = create({"title": "ttl", "ttl_seconds": 600})
    busy = create({"title": "busy"})
    ended = create({"title": "ended"})
    invoke(
        "end_session",
        http_event("POST", "/v1/sessions/{id}/end", path_params={"id": ended}, body={"outcome": "success"}),
    )
    now[0] += 7000
    invoke(
        "append_messages",
        http_event(
            "POST",
            "/v1/sessions/{id}/messages",
            path_params={"id": busy},
            body={"role": "user", "content": "still here"},
        ),
    )
    now[0] += 300  # idle: 7300 s since activity; ttl session: expired 6700 s ago; busy: 300 s since activity

    sweep = function_module("sweep_sessions").lambda_handler(
        {"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext()
    )
    assert sweep == {"abandoned": 1, "expired": 1, "skipped": 0}

    table = boto3.resource("dynamodb").Table(aws["SessionsTable"])
    stored = {sid: table.get_item(Key={"pk": f"tenant_a#{sid}"})["Item"] for sid in (idle, expiring, busy, ended)}
    assert stored[idle]["status"] == "ended" and stored[idle]["outcome"] == "abandoned"
    assert float(stored[idle]["ended_at"]) == 1_800_000_000.0 + 7200
    assert stored[expiring]["status"] == "expired" and "active_bucket" not in stored[expiring]
    assert stored[busy]["status"] == "active" and "active_bucket" in stored[busy]
    assert stored[ended]["outcome"] == "success"
    again = function_module("sweep_sessions").lambda_handler({}, LambdaContext())
    assert again == {"abandoned": 0, "expired": 0, "skipped": 0}
