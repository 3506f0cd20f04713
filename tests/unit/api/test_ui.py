"""GET /ui: one self-contained page; the browser may run only its own inlined script and style and
talk only to the page's origin (what the page does in a browser is tested in tests/ui)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from tests.support.events import LambdaContext, function_module, invoke

ROOT = Path(__file__).resolve().parents[3]
ASSETS = ROOT / "shared" / "engram" / "api" / "ui"


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _ui_event() -> dict:
    return json.loads((ROOT / "events" / "ui.json").read_text())


def test_page_inlines_script_and_style_and_the_policy_allows_exactly_them() -> None:
    reply = invoke("ui", _ui_event())
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    html = reply.raw["body"]
    (script,) = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert script == (ASSETS / "inspector.js").read_text() and style == (ASSETS / "inspector.css").read_text()
    policy = dict(part.strip().split(" ", 1) for part in reply.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == _hash(script) and policy["style-src"] == _hash(style)
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'none'"
    assert reply.headers["referrer-policy"] == "no-referrer"


def test_page_names_no_other_origin() -> None:
    html = invoke("ui", _ui_event()).raw["body"]
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, flags=re.I), "the page must not name another host"
    assert "<script src" not in html and "<link" not in html and "@import" not in html


def test_page_needs_no_key_and_reads_no_body() -> None:
    event = _ui_event()
    event["body"] = "{not json"
    reply = function_module("ui").lambda_handler(event, LambdaContext())
    assert reply["statusCode"] == 200 and "<h1" not in reply["body"]  # headings are drawn by the script
    assert "Engram memory inspector" in reply["body"]
