"""Regenerate the two derived parts of ``engram_client`` (a development tool, not shipped).

    python clients/python/codegen.py          # write them
    python clients/python/codegen.py --check  # exit 1 if either is stale (tests/clients run this)

- ``engram_client/models.py`` from the API's OpenAPI document (``shared/engram/api/openapi.json``,
  itself generated from the server's pydantic models by ``make openapi``), with
  datamodel-code-generator, so the SDK's models cannot drift from the API.
- ``engram_client/_sync/client.py`` from ``engram_client/_async/client.py`` with unasync (the
  transformation httpcore uses), so the sync and async clients are one source.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OPENAPI = ROOT / "shared" / "engram" / "api" / "openapi.json"
PACKAGE = HERE / "engram_client"
MODELS = PACKAGE / "models.py"
ASYNC_CLIENT = PACKAGE / "_async" / "client.py"
SYNC_CLIENT = PACKAGE / "_sync" / "client.py"

MODELS_HEADER = '''"""The API's request and response models, generated from its OpenAPI document. Do not edit.

Regenerate with ``make sdk`` (``python clients/python/codegen.py``); ``tests/clients`` fails
when this file no longer matches ``shared/engram/api/openapi.json``.
"""
'''
SYNC_HEADER = "# Generated from engram_client/_async/client.py by clients/python/codegen.py (unasync). Do not edit.\n"

# What unasync renames on top of async/await and the async iterator protocol.
SYNC_NAMES = {
    "AsyncEngram": "Engram",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "asleep": "sleep",
    "aclose": "close",
    "_async": "_sync",
}


def _fold_nullable(node: Any) -> Any:
    """``anyOf: [{type: T, ...bounds}, {type: null}]`` (how pydantic writes ``T | None``) becomes
    ``type: [T, null]``, so the generator writes ``T | None`` with its bounds instead of a wrapper
    class per field; property titles (the field names, title-cased) are dropped as noise."""
    if isinstance(node, list):
        return [_fold_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _fold_nullable(v) for k, v in node.items()}
    if isinstance(node.get("properties"), dict):
        node["properties"] = {
            name: {k: v for k, v in prop.items() if k != "title"} if isinstance(prop, dict) else prop
            for name, prop in node["properties"].items()
        }
    any_of = node.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        other = next(s for s in any_of if s != {"type": "null"})
        if isinstance(other.get("type"), str):
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return {**rest, **other, "type": [other["type"], "null"]}
    return node


def _ruff(source: str, filename: Path) -> str:
    """The project's own ruff settings: fix what can be fixed, then format."""
    for args in (["check", "--fix-only", "--quiet"], ["format", "--quiet"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(filename), "-"],
            input=source,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        source = done.stdout
    return source


def generate_models() -> str:
    from datamodel_code_generator import DataModelType, InputFileType, PythonVersion, generate

    spec = _fold_nullable(json.loads(OPENAPI.read_text(encoding="utf-8")))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "models.py"
        generate(
            json.dumps(spec),
            input_file_type=InputFileType.OpenAPI,
            input_filename="openapi.json",
            output=out,
            output_model_type=DataModelType.PydanticV2BaseModel,
            target_python_version=PythonVersion.PY_311,
            use_standard_collections=True,
            use_union_operator=True,
            use_annotated=True,
            field_constraints=True,
            enum_field_as_literal="all",
            use_double_quotes=True,
            use_schema_description=True,
            disable_timestamp=True,
            custom_file_header=MODELS_HEADER,
            formatters=["builtin"],
        )
        return _ruff(out.read_text(encoding="utf-8"), MODELS)


def generate_sync_client() -> str:
    import tokenize_rt
    import unasync

    rule = unasync.Rule("/_async/", "/_sync/", additional_replacements=SYNC_NAMES)
    tokens = tokenize_rt.src_to_tokens(ASYNC_CLIENT.read_text(encoding="utf-8"))
    source = tokenize_rt.tokens_to_src(rule._unasync_tokens(tokens))
    return _ruff(SYNC_HEADER + source, SYNC_CLIENT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path, make in ((MODELS, generate_models), (SYNC_CLIENT, generate_sync_client)):
        text = make()
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if text == current:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if stale and args.check:
        print(f"stale: {', '.join(map(str, stale))}; run `make sdk`", file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
