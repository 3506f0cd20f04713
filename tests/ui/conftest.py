"""One headless Chromium per test module of the inspector (skipped, with the reason, where absent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.browser import start_chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_window_size(1280, 900)
    try:
        yield driver
    finally:
        driver.quit()
