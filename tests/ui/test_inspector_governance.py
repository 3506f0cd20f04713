"""The inspector's governance views in a real browser against the real local server.

tests/ui/test_inspector_contract.py checks these views against a stub of the contract; here the
server is the real one with seeded data: the Review view's conflicts queue (a locked memory and a
contradicting one, shown side by side; keep new / keep old / keep both, after which the conflict
is gone from the page and the API says which memory is current), a memory's history with its
causes, the superseded filter on Memories, and the Deletions view (a memory deleted in the page,
its receipt, then the receipt in the log without the deleted text). A session's turn log (context
injected at start and on refresh, memories used per turn) is checked on its page too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engram.testing.server import LocalServer
from tests.ui.page import Page, SeededServer, wait_for

pytestmark = pytest.mark.e2e
KEY = "egm_ui_governance_key_0123456789abcd"
OLD_JOB, NEW_JOB = "I work at Acme", "I joined Globex"
RESOLUTIONS = {"keep_new": "Keep new", "keep_old": "Keep old", "keep_both": "Keep both"}


class Seed(SeededServer):
    def __init__(self, server: LocalServer) -> None:
        super().__init__(server)
        self.conflicts: dict[str, dict[str, str]] = {}  # resolution -> {id, old, new}
        self.memories: dict[str, str] = {}
        self.resolved: dict[str, str] = {}  # a conflict resolved keep_new before the tests


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    server = LocalServer(
        tmp_path_factory.mktemp("ui-governance") / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "5000"}
    ).start()
    try:
        s = Seed(server)
        # one conflict per resolution, each in a namespace of its own: a locked job, then a new one
        for resolution in RESOLUTIONS:
            namespace = f"user-{resolution.replace('_', '')}"
            old = s.api("POST", "/v1/memories", json={"text": OLD_JOB, "type": "identity", "namespace": namespace})
            s.api("POST", f"/v1/memories/{old['id']}/lock", json={"tier": "critical"})
            new = s.api("POST", "/v1/memories", json={"text": NEW_JOB, "type": "identity", "namespace": namespace})
            assert new["action"] == "conflict", new
            s.conflicts[resolution] = {"id": new["conflict_id"], "old": old["id"], "new": new["id"]}
        # one more, resolved through the API (the history test reads it, whatever order tests run in)
        old = s.api("POST", "/v1/memories", json={"text": OLD_JOB, "type": "identity", "namespace": "user-history"})
        s.api("POST", f"/v1/memories/{old['id']}/lock", json={"tier": "critical"})
        new = s.api("POST", "/v1/memories", json={"text": NEW_JOB, "type": "identity", "namespace": "user-history"})
        s.api("POST", f"/v1/memories/conflicts/{new['conflict_id']}/resolve", json={"resolution": "keep_new"})
        s.resolved = {"id": new["conflict_id"], "old": old["id"], "new": new["id"]}
        # a move supersedes a residence (no review: the old memory is not locked)
        home = s.api(
            "POST", "/v1/memories", json={"text": "I live in Singapore", "type": "identity", "namespace": "user-moves"}
        )
        moved = s.api(
            "POST",
            "/v1/memories",
            json={"text": "I moved to Berlin last month", "type": "identity", "namespace": "user-moves"},
        )
        assert moved["action"] == "superseded" and moved["supersedes"] == [home["id"]], moved
        s.memories.update(home=home["id"], moved=moved["id"])
        s.memories["doomed"] = s.api(
            "POST", "/v1/memories", json={"text": "The launch code word is pelican", "namespace": "user-moves"}
        )["id"]
        yield s
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any, seed: Seed) -> Page:  # browser: tests/ui/conftest.py
    return Page(browser, seed.server.url, KEY)


def _open_conflicts(seed: Seed) -> set[str]:
    return {c["id"] for c in seed.api("GET", "/v1/memories/conflicts")["data"]}


def test_conflicts_queue_shows_both_memories_and_each_resolution_lands(page: Page, seed: Seed) -> None:
    page.open("view=review")
    page.wait_text(NEW_JOB, "section[aria-labelledby=conflicts-title]")
    shown = {item.get_attribute("data-conflict") for item in page.css("li.conflict")}
    assert shown == _open_conflicts(seed) == {c["id"] for c in seed.conflicts.values()}
    for c in seed.conflicts.values():  # both memories side by side: the new one, then the old one
        sides = page.one(f"li.conflict[data-conflict='{c['id']}'] .sides").find_elements("css selector", ".side")
        assert [side.find_element("css selector", "h3").text for side in sides] == ["New", "Old"]
        assert NEW_JOB in sides[0].text and c["new"] in sides[0].text
        assert OLD_JOB in sides[1].text and c["old"] in sides[1].text
    page.shot("conflicts")

    for resolution, label in RESOLUTIONS.items():
        c = seed.conflicts[resolution]
        item = page.one(f"li.conflict[data-conflict='{c['id']}']")
        next(b for b in item.find_elements("css selector", "button") if b.text == label).click()
        page.wait_text(
            f"Conflict resolved: {resolution.replace('_', ' ')}.", "section[aria-labelledby=conflicts-title]"
        )
        selector = f"li.conflict[data-conflict='{c['id']}']"
        wait_for(lambda: not page.css(selector), what="the resolved conflict to go")  # noqa: B023
        assert c["id"] not in _open_conflicts(seed)
        old, new = seed.api("GET", f"/v1/memories/{c['old']}"), seed.api("GET", f"/v1/memories/{c['new']}")
        if resolution == "keep_new":
            assert (old["superseded"], old["superseded_by"], new["superseded"]) == (True, c["new"], False)
            assert new["supersedes"] == [c["old"]]
        elif resolution == "keep_old":
            assert (new["superseded"], new["superseded_by"], old["superseded"]) == (True, c["old"], False)
        else:
            assert (old["superseded"], new["superseded"]) == (False, False)
    page.wait_text("No conflicts waiting for review.", "section[aria-labelledby=conflicts-title]")
    page.open("view=review")  # and after a reload, still nothing to review
    page.wait_text("No conflicts waiting for review.", "section[aria-labelledby=conflicts-title]")


def test_history_shows_each_change_and_its_cause(page: Page, seed: Seed) -> None:
    home = seed.memories["home"]
    page.open(f"view=memory&id={home}")
    page.wait_text("Superseded by")
    history = page.one("ol.history")
    events = seed.api("GET", f"/v1/memories/{home}/history")["data"]
    rows = history.find_elements("css selector", ":scope > li")
    assert len(rows) == len(events) >= 2
    for row, event in zip(rows, events, strict=True):
        assert row.find_element("css selector", "strong.change").text == event["change"]
        assert f"cause: {event['cause']}" in row.text
    assert [e["change"] for e in events] == ["superseded", "created"]
    assert seed.memories["moved"] in rows[0].text  # the change's fields name what replaced it
    assert "Valid until" in rows[0].text and "17962" not in rows[0].text  # times read as times, not epoch seconds
    link = page.one("main .warn-box a").get_attribute("href")
    assert link.endswith(f"#view=memory&id={seed.memories['moved']}")
    page.shot("history")


def test_history_of_a_resolved_conflict_names_the_conflict(page: Page, seed: Seed) -> None:
    c = seed.resolved
    page.open(f"view=memory&id={c['old']}")
    page.wait_text("cause: conflict", "ol.history")
    assert f"conflict {c['id']}: keep_new" in page.one("ol.history").text


def test_superseded_filter_on_memories(page: Page, seed: Seed) -> None:
    page.open("view=memories&namespace=user-moves")
    page.wait_text("I moved to Berlin last month")
    assert "I live in Singapore" not in page.main_text
    page.open("view=memories&namespace=user-moves&superseded=include")
    page.wait_text("I live in Singapore")
    rows = {r.find_element("css selector", "td[data-label=Text]").text: r.text for r in page.css("main tbody tr")}
    assert "superseded" in rows["I live in Singapore"]
    assert "superseded" not in rows["I moved to Berlin last month"]
    assert page.one("#f-superseded").get_attribute("value") == "include"


def test_delete_in_the_page_then_the_receipt_in_the_log_without_the_text(page: Page, seed: Seed) -> None:
    mid = seed.memories["doomed"]
    page.open(f"view=memory&id={mid}")
    page.button("Delete…").click()
    page.button("Delete permanently").click()
    page.wait_text("Memory deleted", "main h1")
    receipt = page.one(".receipt").text
    assert seed.server.request("GET", f"/v1/memories/{mid}").status_code == 404
    logged = seed.api("GET", "/v1/deletions")["data"]
    mine = next(r for r in logged if r["memories_deleted"] == [mid])
    assert mine["id"] in receipt and mid in receipt
    page.one(".receipt a").click()  # on to the deletions log
    wait_for(lambda: "view=deletions" in page.driver.current_url, what="the deletions view")
    page.settled()
    page.wait_text(mine["id"])
    row = next(r for r in page.css("main tbody tr") if mine["id"] in r.text)
    assert mid in row.text and "memory" in row.text
    assert "pelican" not in page.main_text  # ids and counts, never the deleted text
    page.shot("deletions")


def test_governance_views_pass_the_axe_rules(page: Page, seed: Seed) -> None:
    for fragment in (
        "view=review",
        "view=deletions",
        f"view=memory&id={seed.memories['home']}",
        "view=memories&namespace=user-moves&superseded=include",
    ):
        page.open(fragment)
        assert page.accessibility_violations() == "", fragment
