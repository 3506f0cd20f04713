"""The committed OpenAPI document is the one the code generates, and it covers every route."""

from __future__ import annotations

import json
from pathlib import Path

from engram.api.openapi_build import SPEC_PATH, build, render
from engram.testing.tables import load_template

ROOT = Path(__file__).resolve().parents[3]


def test_committed_spec_matches_the_code() -> None:
    generated = render(build(ROOT / "functions"))
    assert SPEC_PATH.read_text() == generated, "openapi.json is stale: run `make openapi`"


def test_every_template_route_is_documented_with_security() -> None:
    spec = json.loads(SPEC_PATH.read_text())
    template = load_template()
    routes = set()
    for resource in template["Resources"].values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "HttpApi" and "Path" in event["Properties"]:  # not the $default catch-all
                routes.add((event["Properties"]["Method"].lower(), event["Properties"]["Path"]))
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert routes - {("get", "/docs"), ("get", "/ui")} <= documented  # HTML pages, not API operations
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/health"]["get"]["security"] == []
    assert spec["paths"]["/"]["get"]["security"] == []  # served by the $default route (functions/fallback)
    assert "security" not in spec["paths"]["/v1/sessions"]["post"]  # inherits the global bearerAuth
