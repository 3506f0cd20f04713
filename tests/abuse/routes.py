"""The template's HTTP routes, read from template.yaml so new endpoints are covered automatically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engram.testing.tables import ROOT, load_template


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str  # folder under functions/
    auth: bool

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def has_id(self) -> bool:
        return "{id}" in self.path

    @property
    def kind(self) -> str:
        """Which resource ``{id}`` names."""
        return "memory" if self.path.startswith("/v1/memories/") else "session"

    @property
    def exists(self) -> bool:
        return (ROOT / "functions" / self.function / "app.py").is_file()

    @property
    def takes_body(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH"}

    def sample_body(self) -> Any:
        """The body of the function's sample event (events/<name>.json), so validation passes."""
        path = ROOT / "events" / f"{self.function}.json"
        if not path.is_file():
            return {}
        raw = json.loads(path.read_text()).get("body")
        return json.loads(raw) if raw else ({} if self.takes_body else None)

    def url(self, ident: str = "sess_01JBZ8Q7X4N5M6P7Q8R9S0T1V2") -> str:
        return self.path.replace("{id}", ident)


def http_routes(template_path: Path | None = None) -> list[Route]:
    template = load_template(template_path) if template_path else load_template()
    routes: list[Route] = []
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        function = str(props.get("CodeUri", "")).rstrip("/").split("/")[-1]
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            ev = event.get("Properties") or {}
            if "Path" not in ev:  # the $default catch-all (functions/fallback), not an endpoint
                continue
            authorizer = ((ev.get("Auth") or {}).get("Authorizer")) or "default"
            routes.append(Route(str(ev["Method"]).upper(), str(ev["Path"]), function, authorizer != "NONE"))
    return sorted(routes, key=lambda r: (r.path, r.method))


def params(routes: list[Route]) -> list[Any]:
    """pytest params, skipping routes whose function folder does not exist yet."""
    import pytest

    return [
        pytest.param(
            r,
            id=r.id,
            marks=[] if r.exists else [pytest.mark.skip(reason=f"functions/{r.function}/app.py does not exist yet")],
        )
        for r in routes
    ]


ROUTES = http_routes()
AUTH_ROUTES = [r for r in ROUTES if r.auth]
ID_ROUTES = [r for r in ROUTES if r.auth and r.has_id]
BODY_ROUTES = [r for r in ROUTES if r.auth and r.takes_body]
