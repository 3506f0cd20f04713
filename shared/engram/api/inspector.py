"""Serving the memory inspector (``GET /ui``): one self-contained page, its script and style inlined.

The page is plain HTML with a small hand-written script (``ui/inspector.js``) and stylesheet
(``ui/inspector.css``), shipped in the package so it works offline and in a locked-down account:
no CDN, no build step. It talks to the API on its own origin with the user's key.

The Content-Security-Policy allows exactly the inlined script and style (by hash) and requests to
the page's own origin (``connect-src 'self'``), so the browser itself refuses any request outside
the API's origin, whatever the page's data contains.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources

SCRIPT_PLACEHOLDER = "/*INSPECTOR_JS*/"
STYLE_PLACEHOLDER = "/*INSPECTOR_CSS*/"


def _asset(name: str) -> str:
    return resources.files("engram.api").joinpath("ui", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@lru_cache(maxsize=1)
def inspector_page() -> tuple[str, dict[str, str]]:
    """The page and its security headers (computed once per cold start, from package files)."""
    script, style = _asset("inspector.js"), _asset("inspector.css")
    html = _asset("index.html").replace(STYLE_PLACEHOLDER, style).replace(SCRIPT_PLACEHOLDER, script)
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(script)}",
            f"style-src {_sha256(style)}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
    return html, headers
