"""Build the one OpenAPI document from every function's resolver (Powertools' OpenAPIMerge).

``python -m engram.api.openapi_build --write`` regenerates ``shared/engram/api/openapi.json``,
the file the ``openapi`` and ``docs`` functions serve; a test fails when it drifts from the code.
This is a development tool: it imports every function module, so it needs the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("openapi.json")
TITLE = "Engram API"
DESCRIPTION = (
    "Sessions and long-term memory for AI agents. Authenticate with `Authorization: Bearer <api key>`. "
    'Errors share one shape: `{"error": {"code", "message", "details"}, "request_id"}`.'
)


def build(functions_dir: Path) -> dict[str, Any]:
    import warnings

    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from engram import __version__

    merge = OpenAPIMerge(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        security_schemes={"bearerAuth": HTTPBearer(description="An Engram API key")},
        security=[{"bearerAuth": []}],
        on_conflict="error",
    )
    for app_file in sorted(functions_dir.glob("*/app.py")):
        if "make_resolver(" in app_file.read_text(encoding="utf-8"):  # stream/schedule/authorizer have no routes
            merge.add_file(app_file)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a function that fails to load must fail the build
        spec = merge.get_openapi_schema()
    _mark_public(spec)
    return json.loads(json.dumps(spec, sort_keys=True, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):  # pydantic models the merge leaves in place (security schemes)
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return str(value)


def _mark_public(spec: dict[str, Any]) -> None:
    for path in ("/v1/health", "/v1/openapi.json", "/docs"):
        for operation in (spec.get("paths", {}).get(path) or {}).values():
            if isinstance(operation, dict):
                operation["security"] = []


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=Path, default=Path("functions"))
    parser.add_argument("--write", action="store_true", help="write the committed spec file")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed spec is stale")
    args = parser.parse_args(argv)
    text = render(build(args.functions))
    if args.write:
        SPEC_PATH.write_text(text)
        print(f"wrote {SPEC_PATH}")
    if args.check:
        current = SPEC_PATH.read_text() if SPEC_PATH.exists() else ""
        if current != text:
            print("openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
    if not args.write and not args.check:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
