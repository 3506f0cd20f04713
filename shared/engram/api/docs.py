"""Serving the committed OpenAPI document and a self-contained Swagger UI (no CDN needed)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def spec_text() -> str:
    return resources.files("engram.api").joinpath("openapi.json").read_text(encoding="utf-8")


def spec() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(spec_text())
    return result


@lru_cache(maxsize=1)
def swagger_html() -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = resources.files(swagger_ui)
    js = assets.joinpath("swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = assets.joinpath("swagger-ui.min.css").read_text(encoding="utf-8")
    return generate_swagger_html(spec_text(), js, css, "", None, persist_authorization=True)


# The routes the OpenAPI document leaves out: pages for people (tests/template checks the list).
PAGES: dict[str, tuple[str, ...]] = {"/docs": ("get",), "/ui": ("get",)}


@lru_cache(maxsize=1)
def _routes() -> tuple[tuple[re.Pattern[str], str], ...]:
    """(path pattern, METHOD) of every route; ``{id}`` matches one segment."""
    routes = []
    for path, operations in [*spec().get("paths", {}).items(), *PAGES.items()]:
        pattern = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
        routes += [(pattern, method.upper()) for method in operations]
    return tuple(routes)


def allowed_methods(path: str) -> list[str]:
    """The methods some route answers on ``path`` (empty: no route has this path)."""
    return sorted({method for pattern, method in _routes() if pattern.match(path)})
