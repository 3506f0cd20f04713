"""Headless Chromium for the inspector tests (Debian's chromium + chromium-driver, driven by selenium).

The browser is found on the PATH; Selenium Manager (which would download a driver) is never used.
When Chromium is missing the tests are skipped with the reason, unless ``ENGRAM_REQUIRE_BROWSER=1``
(``make test`` sets it once it has installed Chromium), in which case they fail instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Flags that work on a machine with no network but loopback: no background fetches at start.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def require_chromium() -> tuple[str, str]:
    found = chromium_paths()
    if found is None:
        reason = "Chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)"
        if os.environ.get("ENGRAM_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def start_chromium(profile: Path | None = None) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile or tempfile.mkdtemp(prefix='engram-chromium-')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
