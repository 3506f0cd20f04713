"""The OpenAPI document declares what the server checks (issue 9 item 10).

For every constrained string type, the JSON Schema it contributes to the document (read by a JSON
Schema validator, as schemathesis and generated clients read it) accepts exactly the strings the
server's validator accepts. Before, the label/key patterns, the control-character and not-blank
rules and the ``since`` format were enforced but undeclared, so schema-valid requests got a 422.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from engram.api.openapi_build import SPEC_PATH
from engram.models import common, memories, sessions

TYPES = {
    "Label": common.Label,
    "SessionKey": common.SessionKey,
    "SessionId": common.SessionId,
    "Title": common.Title,
    "DateOrDateTime": common.DateOrDateTime,
    "MemoryText": memories.MemoryText,
    "QueryText": memories.QueryText,
    "Entity": memories.Entity,
    "MemoryRef": sessions.MemoryRef,  # memories_used items: any id, but no control characters (fuzz found it)
}
# Characters where the two regex dialects or the old validators disagreed, and the usual suspects.
EDGES = [
    "", " ", "\t", "\n", "\x1c", "\x1f", "\x7f", "\x00", "\x85", "\xa0", "\u2028", "\u3000", "\ufeff", "\u200b",
    "a", "a b", "a/b", "a:b", "sess_", "sess_x", "Sess_x", "é", "☃", "x" * 129, "2026-03-17", "2026-02-30",
    "2026-03-17T10:00:00Z", "2026-03-17t10:00:00z", "2026-03-17T10:00:00", "2026-03-17T10:00:00.5+05:30",
    "2026-03-17 10:00:00Z", "20260317", "0000-01-01", "0001-01-01", "2026-06-30T23:59:60Z",
    "0001-01-01T00:00:00+01:00", "sess_01JBZ8Q7X4N5M6P7Q8R9S0T1V2", "sess_01JBZ8Q7X4N5M6P7Q8R9S0T1VU",
]  # fmt: skip


def schema_of(annotated: Any) -> dict[str, Any]:
    return dict(TypeAdapter(annotated).json_schema())


def server_accepts(annotated: Any, value: Any) -> bool:
    try:
        TypeAdapter(annotated).validate_python(value)
    except ValidationError:
        return False
    return True


def strings_for(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    # no lone surrogates: they cannot travel as UTF-8 JSON (and are refused before validation)
    pieces = st.sampled_from(EDGES) | st.text(max_size=12) | st.characters(codec="utf-8")
    joined = st.lists(pieces, min_size=1, max_size=4).map("".join)
    pattern = schema.get("pattern")
    matching = st.from_regex(pattern, fullmatch=pattern.startswith("^")) if pattern else st.nothing()
    return joined | matching | matching.map(lambda s: s + " ") | matching.map(lambda s: "\x01" + s)


@pytest.mark.parametrize("name", list(TYPES))
def test_the_declared_schema_accepts_exactly_what_the_server_accepts(name: str) -> None:
    annotated = TYPES[name]
    schema = schema_of(annotated)
    assert "pattern" in schema, f"{name} declares no pattern"
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(value=strings_for(schema))
    def agree(value: str) -> None:
        assert validator.is_valid(value) == server_accepts(annotated, value), (name, value)

    for value in EDGES:
        assert validator.is_valid(value) == server_accepts(annotated, value), (name, value)
    agree()


def test_patch_bodies_declare_that_they_must_not_be_empty() -> None:
    spec = json.loads(SPEC_PATH.read_text())
    for path, model in (("/v1/sessions/{id}", "UpdateSession"), ("/v1/memories/{id}", "UpdateMemory")):
        body = spec["paths"][path]["patch"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model}"}
        assert spec["components"]["schemas"][model]["minProperties"] == 1


def test_every_label_and_key_field_in_the_document_declares_its_pattern() -> None:
    """Walk the document: no string named like a label, key or id is left without a pattern."""
    spec = json.loads(SPEC_PATH.read_text())
    named = {"agent_id", "namespace", "namespaces", "project", "key", "session_id", "tool_name", "tool_call_id"}
    named |= {"memory_id", "entities", "title", "text", "query"}
    missing = []

    def strings(node: Any) -> list[dict[str, Any]]:
        if not isinstance(node, dict):
            return []
        if node.get("type") == "string":
            return [node]
        return [s for option in node.get("anyOf", []) for s in strings(option)]

    def check(where: str, name: str, schema: Any) -> None:
        if name in named and any("pattern" not in s for s in strings(schema)):
            missing.append(f"{where}.{name}")

    schemas = spec["components"]["schemas"]
    request_models: set[str] = set()

    def collect(node: Any) -> None:  # the models a request body reaches, through $ref
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in request_models:
                request_models.add(ref.rsplit("/", 1)[1])
                collect(schemas[ref.rsplit("/", 1)[1]])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect([op.get("requestBody") for ops in spec["paths"].values() for op in ops.values()])
    assert {"CreateSession", "MessageIn", "SearchMemories", "ExplainRequest"} <= request_models
    for model_name in sorted(request_models):
        for name, schema in (schemas[model_name].get("properties") or {}).items():
            check(model_name, name, schema)
            for option in [schema, *schema.get("anyOf", [])]:
                check(model_name, name, option.get("items") or {})
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    check(f"{method.upper()} {path}", parameter["name"], parameter["schema"])
    assert missing == []


JSON_RPC_BODIES: list[Any] = [
    {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": None, "method": "ping"},
    {"jsonrpc": "2.0", "id": "a", "result": {}},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "x", "data": [1]}},
    {"jsonrpc": "2.0", "id": None, "error": {"code": 1, "message": "x"}},
    {"jsonrpc": "2.0"},
    {"jsonrpc": "2.0", "id": 3},
    {"jsonrpc": "2.0", "id": 1, "result": None},  # the MCP SDK answered this with a bare 400
    {"jsonrpc": "2.0", "id": 1, "result": "done"},
    {"jsonrpc": "2.0", "id": None, "result": {}},
    {"jsonrpc": "2.0", "result": {}},
    {"jsonrpc": "2.0", "id": 1, "error": None},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": 1}},
    {"jsonrpc": "2.0", "error": {"code": 1, "message": "x"}},
    {"jsonrpc": "2.0", "id": 1, "result": {}, "error": {"code": 1, "message": "x"}},
    {"jsonrpc": "2.0", "id": 1, "result": {}, "error": None},
    {"jsonrpc": "1.0", "id": 1, "method": "tools/list"},
    {"jsonrpc": "2.0", "id": 1, "method": None, "result": {}},
]


@pytest.mark.parametrize("body", JSON_RPC_BODIES, ids=lambda b: json.dumps(b)[:60])
def test_the_declared_json_rpc_envelope_accepts_exactly_what_post_mcp_accepts(body: Any) -> None:
    """POST /mcp: the kinds of JSON-RPC message are declared (schemathesis found {"jsonrpc": "2.0"}
    schema-valid but refused), and the server refuses in the error shape what the MCP SDK would refuse."""
    from engram.mcp.hosted import JsonRpcMessage

    spec = json.loads(SPEC_PATH.read_text())
    schema = {**spec["components"]["schemas"]["JsonRpcMessage"], "components": spec["components"]}
    declared = jsonschema_rs.Draft202012Validator(schema).is_valid(body)
    assert declared == server_accepts(JsonRpcMessage, body), body
