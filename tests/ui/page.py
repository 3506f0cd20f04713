"""The inspector page in a browser: open a view by its fragment, wait for it, read it, shoot it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engram.testing.server import ROOT

# `make ui-shots` writes the README's screenshots to bench/results/ui/; a test run keeps its own under build/.
SHOTS = Path(os.environ.get("ENGRAM_UI_SHOTS") or ROOT / "build" / "ui-shots")
# axe-core 3.1 (what axe-selenium-python ships) predates HTML allowing <div> groups inside <dl>, which
# the field lists use; its two list rules are off for that reason only.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]},
    "rules": {"dlitem": {"enabled": False}, "definition-list": {"enabled": False}},
}
WAIT = 20.0


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # the page is between renders
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not met in {timeout}s (last: {last!r})")


class SeededServer:
    """The local server the tests seed through its API (every call must succeed)."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self.server.request(method, path, **kwargs)
        assert reply.status_code < 300, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json()


class Page:
    """The inspector in the browser: open a view by fragment, read what is on the page."""

    def __init__(self, driver: Any, url: str, key: str) -> None:
        self.driver = driver
        self.url = url
        self.key = key
        self.base = f"{url}/ui"

    def open(self, fragment: str, *, key: bool = True) -> Page:
        self.driver.get("about:blank")  # a full load each time: no stale content from the last view
        self.driver.get(f"{self.base}#{fragment}&key={self.key}" if key else f"{self.base}#{fragment}")
        self.settled()
        return self

    def settled(self) -> None:
        wait_for(
            lambda: self.driver.execute_script(
                "const m = document.getElementById('main');"
                "return !m.hasAttribute('aria-busy') && !!m.querySelector('h1');"
            ),
            what="the view to render",
        )

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def one(self, selector: str) -> Any:
        found = wait_for(lambda: self.css(selector), what=f"an element {selector!r}")
        return found[0]

    @property
    def main_text(self) -> str:
        return str(self.one("main").text)

    def heading(self) -> str:
        return str(self.one("main h1").text)

    def wait_text(self, text: str, selector: str = "main") -> None:
        wait_for(lambda: text in self.one(selector).text, what=f"{text!r} in {selector}")

    def button(self, label: str) -> Any:
        return wait_for(
            lambda: next(b for b in self.css("main button") if b.text.strip() == label and b.is_displayed()),
            what=f"a button {label!r}",
        )

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        width, height = self.driver.get_window_size()["width"], self.driver.get_window_size()["height"]
        full = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(width, min(max(height, full + 120), 2400))  # the whole page, within reason
        try:
            assert self.driver.save_screenshot(str(path)), path
        finally:
            self.driver.set_window_size(width, height)
        return path

    def requests_made(self) -> list[str]:
        """Every URL the page asked for since the last call (from Chromium's performance log)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def accessibility_violations(self) -> str:
        """axe-core's WCAG 2 A/AA violations on the current page, as its readable report ("" if none)."""
        from axe_selenium_python import Axe

        axe = Axe(self.driver)
        axe.inject()  # WebDriver scripts run outside the page's Content-Security-Policy
        violations = axe.run(options=json.dumps(AXE_OPTIONS))["violations"]
        return str(axe.report(violations)) if violations else ""
