"""The memory inspector (GET /ui) in a real browser against the local server with seeded data.

Each view is loaded by its URL fragment; the tests assert what a person sees on the page (a
memory's text, an explain bar and its threshold line, a session's turns), what the actions did
in the API afterwards, that API errors are shown in words, and that the page asks nothing of any
origin but the API's. `make ui-shots` writes the screenshots the README shows (bench/results/ui/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from engram.testing.server import LocalServer
from tests.ui.page import Page, SeededServer, wait_for

pytestmark = pytest.mark.e2e
KEY = "egm_ui_inspector_key_0123456789abcdef"


# name, namespace, type, text, entities
MEMORIES = [
    ("identity", "user-dana", "identity", "Dana is a backend engineer based in Lisbon", ["Dana", "Lisbon"]),
    ("postgres", "user-dana", "preference", "Dana prefers PostgreSQL for anything relational", ["PostgreSQL"]),
    ("editor", "user-dana", "preference", "Dana writes code in Neovim with a dark theme", []),
    ("port", "project-alpha", "fact", "The staging database listens on port 5433", []),
    ("rest", "project-alpha", "decision", "The team chose REST over GraphQL for the public API", []),
    ("doomed", "project-alpha", "fact", "Temporary note about the retired billing cron job", []),
    ("locked", "project-alpha", "constraint", "Never deploy on Fridays", []),
]


# --- seeded server --------------------------------------------------------------------------------


class Seed(SeededServer):
    """What the tests seeded, by name."""

    def __init__(self, server: LocalServer) -> None:
        super().__init__(server)
        self.memories: dict[str, str] = {}
        self.sessions: dict[str, str] = {}
        self.started: dict[str, Any] = {}  # the "refresh" session's start answer
        self.turns: dict[int, dict[str, Any]] = {}  # and its turns' answers

    def memory(self, name: str, **body: Any) -> str:
        self.memories[name] = self.api("POST", "/v1/memories", json=body)["id"]
        return self.memories[name]


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    server = LocalServer(
        tmp_path_factory.mktemp("ui") / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "5000"}
    ).start()
    try:
        s = Seed(server)
        for name, namespace, type_, text, entities in MEMORIES:
            s.memory(name, text=text, type=type_, namespace=namespace, entities=entities)
        s.api("POST", f"/v1/memories/{s.memories['locked']}/lock", json={"tier": "critical"})

        started = s.api(
            "POST",
            "/v1/sessions/start",
            json={
                "firstMessage": "Help me plan the orders service",
                "namespace": "user-dana",
                "name": "Orders planning",
            },
        )
        sid = s.sessions["ended"] = started["session_id"]
        lines = [
            "My name is Dana and I am a backend engineer based in Lisbon",
            "I prefer PostgreSQL for anything relational",
            "We decided to use FastAPI for the orders service",
        ]
        for n, line in enumerate(lines, start=1):
            s.api(
                "POST",
                f"/v1/sessions/{sid}/turn",
                json={
                    "turnNumber": n,
                    "messages": [{"role": "user", "content": line}, {"role": "assistant", "content": f"Noted ({n})."}],
                    "memoriesUsed": [s.memories["postgres"]],
                },
            )
        s.api("PUT", f"/v1/sessions/{sid}/context", json={"step": "design", "open_questions": 2})
        s.api(
            "POST",
            f"/v1/sessions/{sid}/end",
            json={"outcome": "success", "summary": "Planned the orders service", "extractMemories": True},
        )
        wait_for(lambda: s.api("GET", "/v1/memories", params={"session_id": sid})["data"], what="extraction")
        s.sessions["active"] = s.api("POST", "/v1/sessions", json={"name": "Support chat", "agent_id": "helpdesk"})[
            "id"
        ]
        # five turns: the fifth asks for a refresh, whose context the timeline shows
        s.started = s.api(
            "POST",
            "/v1/sessions/start",
            json={"firstMessage": "Which port does staging use?", "namespace": "project-alpha", "name": "Deploy chat"},
        )
        rid = s.sessions["refresh"] = s.started["session_id"]
        for n in range(1, 6):
            used = [s.memories["port"]] if n == 2 else []
            s.turns[n] = s.api(
                "POST",
                f"/v1/sessions/{rid}/turn",
                json={
                    "turnNumber": n,
                    "messages": [{"role": "user", "content": f"Deploy step {n}"}],
                    "memoriesUsed": used,
                },
            )
        s.api("POST", "/v1/memories/miss", json={"query": "Which CI provider does the team use?", "session_id": sid})
        for query in ("What CI provider does the team use?", "What port does the staging database listen on?"):
            s.api("POST", "/v1/memories/miss", json={"query": query, "namespace": "project-alpha"})
        yield s
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any, seed: Seed) -> Page:  # browser: tests/ui/conftest.py
    return Page(browser, seed.server.url, KEY)


# --- the page itself --------------------------------------------------------------------------------


def test_page_is_served_self_contained_with_a_same_origin_policy(seed: Seed) -> None:
    reply = requests.get(f"{seed.server.url}/ui", timeout=30)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    policy = reply.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in policy and "default-src 'none'" in policy
    assert "<script src" not in reply.text and "<link" not in reply.text  # nothing loaded from elsewhere


def test_key_form_then_wrong_key_is_refused_in_words_then_the_right_key_connects(page: Page, seed: Seed) -> None:
    page.driver.get("about:blank")
    page.driver.get(page.base)
    page.driver.execute_script("sessionStorage.clear()")
    page.open("view=memories", key=False)
    assert page.heading() == "Connect to Engram"
    field = page.one("#api-key")
    bad = "egm_not_a_real_key_000000000000"
    field.send_keys(bad)
    page.button("Connect").click()
    refusal = seed.server.request("GET", "/v1/memories", key=bad).json()["error"]["message"]
    page.wait_text(refusal, "[role=alert]")  # the API's own words
    assert page.driver.execute_script("return sessionStorage.getItem('engram.apiKey')") is None
    page.one("#api-key").send_keys(KEY)
    page.button("Connect").click()
    page.wait_text("Dana writes code in Neovim")
    assert page.heading() == "Memories"

    page.driver.find_element("id", "forget-key").click()
    page.wait_text("Connect to Engram", "main h1")
    assert page.driver.execute_script("return sessionStorage.getItem('engram.apiKey')") is None


def test_key_in_the_fragment_is_kept_in_session_storage_and_removed_from_the_address_bar(page: Page) -> None:
    page.open("view=memories&namespace=user-dana")
    assert "key=" not in page.driver.current_url
    assert "namespace=user-dana" in page.driver.current_url
    assert page.driver.execute_script("return sessionStorage.getItem('engram.apiKey')") == KEY
    assert page.driver.execute_script("return localStorage.length") == 0
    assert "egm_" not in page.driver.execute_script("return document.cookie")


# --- memories -------------------------------------------------------------------------------------


def test_memories_filtered_by_namespace_tier_type_and_locked(page: Page) -> None:
    page.open("view=memories&namespace=user-dana")
    page.wait_text("Dana prefers PostgreSQL for anything relational")
    assert "The staging database listens on port 5433" not in page.main_text
    page.shot("memories")

    page.open("view=memories&namespace=project-alpha&type=decision")
    page.wait_text("The team chose REST over GraphQL")
    assert "port 5433" not in page.main_text and "Never deploy on Fridays" not in page.main_text

    page.open("view=memories&locked=yes")
    page.wait_text("Never deploy on Fridays")
    rows = page.css("main tbody tr")
    assert len(rows) == 1 and "locked" in rows[0].text

    page.open("view=memories&tier=critical")
    page.wait_text("Dana is a backend engineer")  # identity memories are critical by default
    assert "Neovim" not in page.main_text


def test_filter_form_builds_a_linkable_fragment(page: Page) -> None:
    from selenium.webdriver.support.select import Select

    page.open("view=memories")
    page.one("#f-namespace").send_keys("project-alpha")
    Select(page.one("#f-tier")).select_by_value("critical")
    page.button("Apply").click()
    wait_for(lambda: "tier=critical" in page.driver.current_url, what="the fragment")
    assert "namespace=project-alpha" in page.driver.current_url
    page.settled()
    page.wait_text("Never deploy on Fridays")
    assert "Dana" not in page.one("main table").text


def test_search_shows_ranked_explain_bars_and_the_threshold_line(page: Page, seed: Seed) -> None:
    page.open("view=memories&namespace=user-dana&q=Which database does Dana prefer")
    page.wait_text("Results for")
    results = page.css("li.result")
    assert results, page.main_text
    first = results[0]
    assert "Dana prefers PostgreSQL" in first.text
    # one bar per result, a segment per non-zero term, and the threshold drawn as a line in each bar
    assert len(page.css("li.result .bar")) == len(results)
    assert len(page.css("li.result .bar .threshold")) == len(results)
    terms = {seg.get_attribute("data-term") for seg in first.find_elements("css selector", ".seg")}
    assert {"vector", "text"} <= terms
    label = first.find_element("css selector", ".bar").get_attribute("aria-label")
    assert label.startswith("score ") and "threshold" in label
    explained = seed.api(
        "POST", "/v1/explain", json={"query": "Which database does Dana prefer", "namespace": "user-dana", "top_k": 20}
    )
    assert first.find_element("css selector", ".score").text == f"score {explained['results'][0]['score']:.3f}"
    assert len(results) == len(explained["results"])
    included = sum(r["included"] for r in explained["results"])
    assert f"{included} of {len(results)}" in page.one("main [role=status]").text
    page.shot("search")

    # a stricter threshold from the search form's fragment: fewer results included, as explain says
    page.open("view=memories&namespace=user-dana&q=Which database does Dana prefer&threshold=1.5")
    page.wait_text("above the threshold 1.5")
    strict = seed.api(
        "POST",
        "/v1/explain",
        json={"query": "Which database does Dana prefer", "namespace": "user-dana", "top_k": 20, "threshold": 1.5},
    )
    assert len(page.css("li.result.included")) == sum(r["included"] for r in strict["results"]) < included


def test_memory_page_actions_reinforce_lock_unlock_edit(page: Page, seed: Seed) -> None:
    mid = seed.memories["editor"]
    page.open(f"view=memory&id={mid}")
    assert page.heading().startswith("Dana writes code in Neovim")
    assert mid in page.main_text and "user-dana" in page.main_text

    page.button("Reinforce +1").click()
    page.wait_text("Memory reinforced. Feedback score 1", ".flash")
    assert seed.api("GET", f"/v1/memories/{mid}")["feedback_score"] == 1
    page.wait_text("Feedback score\n1")  # the page re-read the memory

    from selenium.webdriver.support.select import Select

    Select(page.one("#f-lock-tier")).select_by_value("high")
    page.button("Lock tier").click()
    page.wait_text("Unlock tier")
    stored = seed.api("GET", f"/v1/memories/{mid}")
    assert stored["locked"] is True and stored["tier"] == "high"

    page.button("Unlock tier").click()
    page.wait_text("Lock tier")
    assert seed.api("GET", f"/v1/memories/{mid}")["locked"] is False

    page.one("details.edit-box summary").click()
    text = page.one("#f-text")
    text.clear()
    text.send_keys("Dana writes code in Neovim with a light theme")
    page.button("Save changes").click()
    page.wait_text("Saved: text", ".flash")
    assert seed.api("GET", f"/v1/memories/{mid}")["text"] == "Dana writes code in Neovim with a light theme"
    page.shot("memory")


def test_delete_asks_then_shows_the_receipt(page: Page, seed: Seed) -> None:
    mid = seed.memories["doomed"]
    page.open(f"view=memory&id={mid}")
    page.button("Delete…").click()
    page.button("Delete permanently").click()
    page.wait_text("Memory deleted", "main h1")
    assert mid in page.main_text  # the receipt names what was deleted
    assert seed.server.request("GET", f"/v1/memories/{mid}").status_code == 404


def test_api_errors_are_shown_in_words(page: Page, seed: Seed) -> None:
    missing = "mem_01JBZ8Q7X4N5M6P7Q8R9S0T1V2"
    page.open(f"view=memory&id={missing}")
    alert = page.one("[role=alert]")
    expected = seed.server.request("GET", f"/v1/memories/{missing}").json()["error"]["message"]
    assert expected in alert.text
    assert page.heading() == "Could not load this view"

    page.open("view=memories&q=" + "x" * 2100)  # longer than a query may be: 422 from the API
    alert = page.one("[role=alert]")
    assert "Error" in alert.text and len(alert.text) > len("Error: ")


# --- sessions -------------------------------------------------------------------------------------


def test_sessions_list_shows_status_and_outcome(page: Page, seed: Seed) -> None:
    page.open("view=sessions")
    page.wait_text("Orders planning")
    rows = {}
    for row in page.css("main tbody tr"):
        cells = {td.get_attribute("data-label"): td.text for td in row.find_elements("css selector", "td")}
        rows[cells["Session"]] = cells
    assert rows["Orders planning"]["Status"] == "ended" and rows["Orders planning"]["Outcome"] == "success"
    assert rows["Orders planning"]["Turns"] == "3" and rows["Orders planning"]["Messages"] == "6"
    assert rows["Support chat"]["Status"] == "active" and rows["Support chat"]["Agent"] == "helpdesk"

    page.open("view=sessions&status=active")
    page.wait_text("Support chat")
    assert "Orders planning" not in page.main_text


def test_session_page_timeline_context_and_extracted_memories(page: Page, seed: Seed) -> None:
    sid = seed.sessions["ended"]
    page.open(f"view=session&id={sid}")
    assert page.heading() == "Orders planning"
    turns = page.css("ol.timeline > li.turn:not(.start)")
    assert [t.find_element("css selector", "h3").text.split(" ")[:2] for t in turns] == [
        ["Turn", "1"],
        ["Turn", "2"],
        ["Turn", "3"],
    ]
    assert "We decided to use FastAPI for the orders service" in turns[2].text
    assert "Noted (3)." in turns[2].text
    context = page.one("section[aria-labelledby=context-title] pre").text
    assert json.loads(context) == {"step": "design", "open_questions": 2}
    assert "Planned the orders service" in page.main_text
    extracted = seed.api("GET", f"/v1/sessions/{sid}", params={"include_memories": "true"})["memories"]
    section = page.one("section[aria-labelledby=extracted-title]").text
    assert extracted and all((m["title"] or m["id"]) in section for m in extracted)
    assert "Memories used\n1" in page.main_text
    # the start's injected context (turn 0) and the memory each turn used
    log = seed.api("GET", f"/v1/sessions/{sid}/turns")["data"]
    start = page.one("ol.timeline > li.turn.start")
    assert "Context injected at start" in start.text and log[0]["kind"] == "start"
    assert [a.get_attribute("href").split("id=")[1] for a in start.find_elements("css selector", ".memory-refs a")] == [
        m["id"] for m in log[0]["injected"]
    ]
    assert all(m["title"] in start.text for m in log[0]["injected"])
    for turn in turns:
        used = turn.find_element("css selector", ".used")
        assert "Memories used" in used.text and seed.memories["postgres"] in used.get_attribute("innerHTML")
    page.shot("session")

    page.requests_made()
    page.button("Download export (JSON)").click()
    wait_for(lambda: f"{seed.server.url}/v1/sessions/{sid}/export" in page.requests_made(), what="the export request")
    assert not page.css("main [role=alert]")


def test_session_timeline_shows_what_a_refresh_injected_and_the_stats(page: Page, seed: Seed) -> None:
    sid = seed.sessions["refresh"]
    page.open(f"view=session&id={sid}")
    assert page.heading() == "Deploy chat"
    start = page.one("ol.timeline > li.turn.start")
    critical = seed.started["context"]["critical"]
    assert critical and all(m["title"] in start.text for m in critical)
    stats = seed.started["stats"]
    assert f"{stats['tokens_injected']} tokens: {stats['critical_count']} critical" in start.text
    turns = page.css("ol.timeline > li.turn:not(.start)")
    assert len(turns) == 5
    assert "Memories used" in turns[1].text and "port 5433" in turns[1].text
    assert not turns[0].find_elements("css selector", ".injected")  # no refresh on turn 1
    refreshed = seed.turns[5]
    assert refreshed["refresh_needed"] is True
    block = turns[4].find_element("css selector", ".injected")
    assert "Context injected by the refresh" in block.text
    ids = [m["id"] for m in refreshed["new_context"]["critical"] + refreshed["new_context"]["high"]]
    assert ids and all(mid in block.get_attribute("innerHTML") for mid in ids)
    page.shot("session-refresh")


# --- misses, review, deletions ------------------------------------------------------------------------


def test_misses_list(page: Page) -> None:
    page.open("view=misses")
    page.wait_text("Which CI provider does the team use?")


def _cluster_rows(page: Page) -> dict[str, Any]:
    """The miss clusters table's rows, by their representative query."""
    from selenium.webdriver.common.by import By

    rows = {}
    for tr in page.css("section[aria-labelledby=clusters-title] tbody tr"):
        cells = {td.get_attribute("data-label"): td for td in tr.find_elements(By.CSS_SELECTOR, "td")}
        if "Representative query" in cells:  # not the replay's table below it
            rows[cells["Representative query"].text] = cells
    return rows


def test_miss_clusters_with_counts_and_replay(page: Page, seed: Seed) -> None:
    page.open("view=review")
    page.wait_text("What port does the staging database listen on?", "section[aria-labelledby=clusters-title]")
    rows = _cluster_rows(page)
    ci = next(cells for query, cells in rows.items() if "CI provider" in query)
    port = rows["What port does the staging database listen on?"]
    assert ci["Misses"].text == "2" and port["Misses"].text == "1"
    assert "Which CI provider does the team use?" in ci["Examples"].text
    assert "What CI provider does the team use?" in ci["Examples"].text

    # what the server answers for that cluster (whether the ranker answers a CI question is not this test's business)
    clusters = seed.api("GET", "/v1/memories/misses/clusters")["data"]
    ci_id = next(c["id"] for c in clusters if "CI provider" in c["representative"])
    expected = seed.api("POST", "/v1/memories/misses/replay", json={"cluster_id": ci_id})
    ci["Replay"].find_element("css selector", "button").click()
    page.wait_text(f"{expected['answered']} of 2 now answered", ".action-result")
    shown = page.one(".action-result tbody").text
    assert all(r["query"] in shown for r in expected["data"]) and shown.count("yes") == expected["answered"]

    _cluster_rows(page)["What port does the staging database listen on?"]["Replay"].find_element(
        "css selector", "button"
    ).click()
    page.wait_text("1 of 1 now answered", ".action-result")
    result = page.one(".action-result tbody").text
    assert "yes" in result and "The staging database listens on port 5433" in result and "≥" in result
    page.shot("review")
    link = page.one(".action-result tbody a").get_attribute("href")
    assert link.endswith(f"#view=memory&id={seed.memories['port']}")


def test_miss_clusters_filter_by_namespace(page: Page) -> None:
    page.open("view=review&namespace=user-dana")
    page.wait_text("Which CI provider does the team use?", "section[aria-labelledby=clusters-title]")
    rows = _cluster_rows(page)
    assert [cells["Misses"].text for cells in rows.values()] == ["1"]  # the project-alpha misses are not shown
    assert page.one("#f-namespace").get_attribute("value") == "user-dana"
    page.button("Replay the misses of user-dana").click()
    page.wait_text("of 1 now answered", ".action-result")  # the one miss asked in every namespace


def _paths(seed: Seed) -> dict[str, Any]:
    paths: dict[str, Any] = requests.get(f"{seed.server.url}/v1/openapi.json", timeout=30).json()["paths"]
    return paths


def test_review_and_deletions_say_when_the_server_lacks_them(page: Page, seed: Seed) -> None:
    paths = _paths(seed)
    page.open("view=review")
    if "/v1/memories/conflicts" not in paths:
        page.wait_text("The conflicts queue: not available on this server.")
    if "/v1/memories/misses/clusters" not in paths:
        page.wait_text("Miss clusters: not available on this server.")
    page.open("view=deletions")
    if "/v1/deletions" not in paths:
        page.wait_text("The deletion receipts log: not available on this server.")
    page.open(f"view=memory&id={seed.memories['rest']}")
    if "/v1/memories/{id}/history" not in paths:
        page.wait_text("History: not available on this server.")


# --- accessibility, layout, network -------------------------------------------------------------------


def test_keyboard_only_search_and_open_a_result(page: Page) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page.open("view=memories&namespace=user-dana")
    focused = lambda: page.driver.switch_to.active_element  # noqa: E731
    for _ in range(30):  # Tab from the top of the page until the search box has focus
        if focused().get_attribute("id") == "q":
            break
        ActionChains(page.driver).send_keys(Keys.TAB).perform()
    assert focused().get_attribute("id") == "q"
    ActionChains(page.driver).send_keys("PostgreSQL", Keys.ENTER).perform()
    page.wait_text("Results for")
    for _ in range(40):  # on to the first result's link, then Enter opens the memory
        element = focused()
        if element.tag_name == "a" and "view=memory&" in (element.get_attribute("href") or ""):
            break
        ActionChains(page.driver).send_keys(Keys.TAB).perform()
    ActionChains(page.driver).send_keys(Keys.ENTER).perform()
    wait_for(lambda: "view=memory&" in page.driver.current_url, what="the memory page")
    page.settled()
    assert "Reinforce +1" in page.main_text


def test_phone_width_has_no_horizontal_scroll(page: Page, seed: Seed) -> None:
    page.driver.set_window_size(390, 844)
    try:
        for fragment in ("view=memories", f"view=session&id={seed.sessions['ended']}", "view=memories&q=Dana"):
            page.open(fragment)
            overflow = page.driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{fragment}: {overflow}px wider than the screen"
        page.open("view=memories&namespace=user-dana")
        page.shot("memories-phone")
    finally:
        page.driver.set_window_size(1280, 900)


def test_every_request_stays_on_the_api_origin(page: Page, seed: Seed) -> None:
    page.requests_made()  # drop what earlier tests asked for
    for fragment in (
        "view=memories",
        "view=memories&q=Dana",
        f"view=memory&id={seed.memories['rest']}",
        "view=sessions",
        f"view=session&id={seed.sessions['ended']}",
        "view=misses",
        "view=review",
        "view=deletions",
    ):
        page.open(fragment)
    urls = [u for u in page.requests_made() if u != "about:blank"]
    assert any(u.startswith(f"{seed.server.url}/v1/") for u in urls)
    elsewhere = [u for u in urls if not u.startswith(seed.server.url + "/")]
    assert elsewhere == []
    console = page.driver.get_log("browser")
    assert [
        e for e in console if "Content Security Policy" in e["message"]
    ] == []  # the page never trips its own policy (inline script and style are hashed)


def test_every_view_passes_the_axe_accessibility_rules(page: Page, seed: Seed) -> None:
    """WCAG 2 A and AA rules (labels, names, contrast, landmarks, ARIA) from axe-core, on each view."""
    for fragment in (
        "view=memories",
        "view=memories&q=Dana",
        f"view=memory&id={seed.memories['rest']}",
        "view=sessions",
        f"view=session&id={seed.sessions['ended']}",
        f"view=session&id={seed.sessions['refresh']}",
        "view=misses",
        "view=review",
        "view=deletions",
    ):
        page.open(fragment)
        assert page.accessibility_violations() == "", fragment
