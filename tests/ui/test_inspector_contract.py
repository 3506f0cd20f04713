"""The inspector's Review, Deletions, history, lineage and superseded views against the contract
(DESIGN.md's endpoint table) before those endpoints exist on this branch.

A stub API on loopback serves the real page and an OpenAPI document that declares the endpoints,
with answers in the contract's shape. The tests check that the views light up from the document
alone (the resolve body's field is read from its schema, not assumed), that actions send what the
document asks for, and that a resolved conflict disappears. tests/ui/test_inspector.py checks the
same views say "not available on this server" against a server without the endpoints.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from engram.api.docs import spec as committed_spec
from engram.api.inspector import inspector_page
from tests.ui.browser import start_chromium
from tests.ui.page import Page, wait_for

pytestmark = pytest.mark.e2e
KEY = "egm_contract_stub_key_0123456789"
NOW = "2026-03-17T10:00:00Z"


def memory(mid: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": mid, "namespace": "user-dana", "title": text, "text": text, "type": "fact", "tier": "normal",
        "locked": False, "feedback_score": 0, "access_count": 0, "strength": 0.0, "entities": [], "source": None,
        "agent_id": None, "session_id": None, "metadata": {}, "created_at": NOW, "updated_at": NOW,
        "last_accessed_at": None, **extra,
    }  # fmt: skip


OLD = memory("mem_old", "Dana lives in Lisbon", superseded_by="mem_new", valid_until=NOW)
NEW = memory(
    "mem_new",
    "Dana moved to Porto",
    supersedes="mem_old",
    valid_from=NOW,
    sources=[{"session_id": "sess_a", "turn": 3, "extracted": True, "confidence": 0.9}, {"session_id": "sess_b"}],
)
OTHER = memory("mem_tea", "Dana drinks green tea")
COFFEE = memory("mem_coffee", "Dana drinks coffee")


def future_spec() -> dict[str, Any]:
    """The committed document plus the endpoints other branches are building."""
    spec = committed_spec()
    paths = spec["paths"]
    get = {"responses": {"200": {"description": "ok"}}}
    paths["/v1/memories"]["get"].setdefault("parameters", []).append(
        {"name": "include_superseded", "in": "query", "schema": {"type": "boolean"}}
    )
    paths["/v1/memories/{id}/history"] = {"get": get}
    paths["/v1/memories/conflicts"] = {"get": get}
    spec["components"]["schemas"]["Resolution"] = {"type": "string", "enum": ["keep_new", "keep_old", "keep_both"]}
    paths["/v1/memories/conflicts/{id}/resolve"] = {
        "post": {**get, "requestBody": body({"resolution": ref("Resolution")})}
    }
    paths["/v1/memories/misses/clusters"] = {"get": get}
    paths["/v1/memories/misses/replay"] = {"post": {**get, "requestBody": body({"cluster_id": {"type": "string"}})}}
    paths["/v1/deletions"] = {"get": get}
    return spec


def body(properties: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"type": "object", "properties": properties}}}}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


class StubApi:
    """Answers like Engram would, from a few canned resources; remembers what it was sent."""

    def __init__(self) -> None:
        self.conflicts = [
            {"id": "conf_1", "new_memory": NEW, "old_memory": OLD, "reason": "same subject, different city"},
            {"id": "conf_2", "new_memory_id": "mem_tea", "old_memory_id": "mem_coffee", "reason": "drinks"},
        ]
        self.sent: list[tuple[str, str, Any]] = []
        self.spec = future_spec()

    def answer(self, method: str, path: str, query: dict[str, list[str]], payload: Any) -> tuple[int, Any]:
        self.sent.append((method, path, payload if payload is not None else query))
        memories = {m["id"]: m for m in (OLD, NEW, OTHER, COFFEE)}
        if (method, path) == ("GET", "/v1/memories"):
            shown = [NEW, OTHER] + ([OLD] if query.get("include_superseded") == ["true"] else [])
            return 200, page_of(shown)
        if method == "GET" and path.startswith("/v1/memories/mem_"):
            mid, _, rest = path.removeprefix("/v1/memories/").partition("/")
            if mid not in memories:
                return 404, error("not_found", f"Memory {mid!r} not found")
            if rest == "history":
                return 200, page_of(
                    [{"at": NOW, "cause": "created", "session_id": "sess_a"}, {"at": NOW, "cause": "superseded"}]
                )
            return 200, memories[mid]
        if (method, path) == ("GET", "/v1/memories/conflicts"):
            return 200, page_of(self.conflicts)
        if method == "POST" and path.startswith("/v1/memories/conflicts/"):
            cid = path.split("/")[4]
            if cid == "conf_2":
                return 409, error("conflict", "This conflict was already resolved by someone else")
            self.conflicts = [c for c in self.conflicts if c["id"] != cid]
            return 200, {"id": cid, "resolved": True, **(payload or {})}
        if (method, path) == ("GET", "/v1/memories/misses/clusters"):
            clusters = [
                {"id": "cl_1", "count": 3, "label": "CI provider", "queries": ["Which CI?", "What CI do we use?"]}
            ]
            return 200, {"data": clusters}
        if (method, path) == ("POST", "/v1/memories/misses/replay"):
            return 200, {
                "data": [{"query": "Which CI?", "answered": True, "results": [{"id": "mem_tea", "title": "CI"}]}]
            }
        if (method, path) == ("GET", "/v1/deletions"):
            counts = {"memories": 2, "messages": 7}
            return 200, page_of(
                [{"id": "del_1", "kind": "session", "target_id": "sess_gone", "counts": counts, "created_at": NOW}]
            )
        return 404, error("not_found", "No such route")


def page_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": rows, "next_cursor": None, "has_more": False, "total_count": len(rows)}


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": []}, "request_id": "req_stub"}


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[StubApi, str]]:
    state = StubApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, status: int, content: str, ctype: str, headers: dict[str, str] | None = None) -> None:
            data = content.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/ui":
                html, headers = inspector_page()
                return self.reply(200, html, "text/html; charset=utf-8", headers)
            if url.path == "/v1/openapi.json":
                return self.reply(200, json.dumps(state.spec), "application/json")
            if self.headers.get("Authorization") != f"Bearer {KEY}":
                return self.reply(
                    401, json.dumps(error("unauthorized", "Invalid or revoked API key")), "application/json"
                )
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length)) if length else None
            status, answer = state.answer(self.command, url.path, parse_qs(url.query), payload)
            self.reply(status, json.dumps(answer), "application/json")

        do_GET = do_POST = do_PATCH = do_DELETE = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page(stub: tuple[StubApi, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-contract"))
    driver.set_window_size(1280, 900)
    try:
        yield Page(driver, stub[1], KEY)
    finally:
        driver.quit()


def test_conflicts_side_by_side_and_a_resolved_conflict_disappears(page: Page, stub: tuple[StubApi, str]) -> None:
    state, _ = stub
    page.open("view=review")
    page.wait_text("Dana moved to Porto", "li[data-conflict=conf_1]")
    assert "Dana lives in Lisbon" in page.one("li[data-conflict=conf_1]").text
    page.wait_text("Dana drinks coffee", "li[data-conflict=conf_2]")  # named by id, read from the API
    page.shot("review-contract")  # the stub's data, not a real server's
    keep_new = page.one("li[data-conflict=conf_1]").find_element("xpath", ".//button[normalize-space()='Keep new']")
    keep_new.click()
    page.wait_text("Conflict resolved: keep new")
    wait_for(lambda: not page.css("li[data-conflict=conf_1]"), what="the resolved conflict to disappear")
    assert ("POST", "/v1/memories/conflicts/conf_1/resolve", {"resolution": "keep_new"}) in state.sent

    page.one("li[data-conflict=conf_2]").find_element("xpath", ".//button[normalize-space()='Keep both']").click()
    page.wait_text("This conflict was already resolved by someone else", "li[data-conflict=conf_2] [role=alert]")
    page.open("view=review")
    page.wait_text("Dana drinks coffee")
    assert not page.css("li[data-conflict=conf_1]")  # gone on the server too


def test_miss_clusters_with_replay(page: Page, stub: tuple[StubApi, str]) -> None:
    state, _ = stub
    page.open("view=review")
    page.wait_text("CI provider", "section[aria-labelledby=clusters-title]")
    cells = {td.get_attribute("data-label"): td.text for td in page.css("section[aria-labelledby=clusters-title] td")}
    assert cells["Misses"] == "3" and "What CI do we use?" in cells["Examples"]
    page.button("Replay").click()
    page.wait_text("Now answered", ".action-result")
    assert "yes" in page.one(".action-result tbody").text
    assert ("POST", "/v1/memories/misses/replay", {"cluster_id": "cl_1"}) in state.sent


def test_deletions_log(page: Page) -> None:
    page.open("view=deletions")
    page.wait_text("del_1")
    row = page.one("main tbody tr").text
    assert "sess_gone" in row and "memories 2" in row and "messages 7" in row


def test_memory_history_lineage_and_supersession(page: Page) -> None:
    page.open("view=memory&id=mem_new")
    page.wait_text("superseded", "ol.history")
    history = page.one("ol.history").text
    assert "created" in history and "sess_a" in history
    sources = page.one("section[aria-labelledby=sources-title]").text
    assert "sess_a turn 3 (extracted, confidence 0.9)" in sources and "sess_b" in sources
    assert "Supersedes\nmem_old" in page.main_text

    page.open("view=memory&id=mem_old")
    page.wait_text("Superseded by mem_new")


def test_superseded_filter_is_offered_and_sent(page: Page, stub: tuple[StubApi, str]) -> None:
    state, _ = stub
    page.open("view=memories")
    page.wait_text("Dana moved to Porto")
    assert "Dana lives in Lisbon" not in page.main_text
    page.open("view=memories&superseded=include")
    page.wait_text("Dana lives in Lisbon")
    assert "superseded" in page.one("main tbody").text  # badged
    assert any(m == "GET" and p == "/v1/memories" and q.get("include_superseded") == ["true"] for m, p, q in state.sent)


def test_review_deletions_and_lineage_views_pass_the_axe_rules(page: Page) -> None:
    for fragment in ("view=review", "view=deletions", "view=memory&id=mem_new", "view=memories&superseded=include"):
        page.open(fragment)
        assert page.accessibility_violations() == "", fragment
