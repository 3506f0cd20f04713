"""template.yaml, events/ and functions/ agree with each other and with docs/CONVENTIONS.md.

What each test guards:
- every Lambda has a template entry, an event file and (once written) a folder, and nothing else does;
- tables match the documented keys, GSIs, streams and TTL attributes;
- each function gets exactly the table / OpenSearch / Bedrock access it needs (least privilege);
- routes are unique, auth is on everywhere but the three public routes, the authorizer never caches;
- sample events have the shape Lambda sends and name their function's route;
- cfn-lint is clean, and SAM's transform produces what the comments promise.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engram.local.template import load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
FUNCTIONS = ROOT / "functions"
CONVENTIONS = ROOT / "docs" / "CONVENTIONS.md"

# The Lambdas. Listed here (not discovered) so a missing folder, event or template entry fails.
HTTP_FUNCTIONS = [
    "create_session", "start_session", "get_or_create_session", "list_sessions", "get_session",
    "update_session", "delete_session", "replace_context", "append_messages", "list_messages",
    "record_turn", "end_session", "close_session", "summarize_session", "export_session",
    "create_memory", "list_memories", "get_memory", "update_memory", "delete_memory",
    "search_memories", "reinforce_memory", "lock_memory", "unlock_memory", "log_miss",
    "list_misses", "miss_clusters", "replay_misses", "extract", "explain", "health", "openapi", "docs", "ui",
    "batch_create_memories", "mcp", "fallback", "list_conflicts", "resolve_conflict", "memory_history",
    "list_deletions", "list_turns",
]  # fmt: skip
BACKGROUND_FUNCTIONS = ["authorizer", "on_session_change", "on_memory_change", "sweep_sessions"]
ALL_FUNCTIONS = HTTP_FUNCTIONS + BACKGROUND_FUNCTIONS
PUBLIC_ROUTES = {"health", "openapi", "docs", "ui", "fallback"}

# Least privilege, as designed: table -> "R" (read) or "W" (read/write); OS = OpenSearch data
# plane, BR = Bedrock embedding model, TEXT = Bedrock text model. POST handlers also get W on
# IdempotencyTable (checked separately).
S, M, Y, X, K, L = "SessionsTable", "MessagesTable", "MemoriesTable", "MissesTable", "ApiKeysTable", "RateLimitsTable"
G = "LedgerTable"  # governance: whatever writes memories writes their history, conflicts and receipts
ACCESS: dict[str, tuple[dict[str, str], set[str]]] = {
    "create_session": ({S: "W"}, set()),
    "start_session": ({S: "W", M: "W", Y: "W", G: "W"}, {"OS", "BR"}),  # M: its start record
    "get_or_create_session": ({S: "W"}, set()),
    "list_sessions": ({S: "R"}, set()),
    "get_session": ({S: "R", M: "R", Y: "R"}, set()),
    "update_session": ({S: "W"}, set()),
    "delete_session": ({S: "W", M: "W", Y: "W", G: "W"}, {"OS"}),
    "replace_context": ({S: "W"}, set()),
    "append_messages": ({S: "W", M: "W"}, set()),
    "list_messages": ({S: "R", M: "R"}, set()),
    "list_turns": ({S: "R", M: "R", Y: "R"}, set()),
    "record_turn": ({S: "W", M: "W", Y: "W", G: "W"}, {"OS", "BR"}),
    "end_session": ({S: "W", Y: "R"}, set()),
    "close_session": ({S: "W"}, set()),
    "summarize_session": ({S: "W", M: "R", Y: "W", G: "W"}, {"OS", "BR", "TEXT"}),
    "export_session": ({S: "R", M: "R", Y: "R"}, set()),
    "create_memory": ({Y: "W", S: "W", G: "W"}, {"OS", "BR"}),
    "batch_create_memories": ({Y: "W", S: "W", G: "W"}, {"OS", "BR"}),
    "list_memories": ({Y: "R"}, set()),
    "get_memory": ({Y: "R"}, set()),
    "update_memory": ({Y: "W", G: "W"}, {"OS", "BR"}),
    "delete_memory": ({Y: "W", S: "W", G: "W"}, {"OS"}),
    "search_memories": ({Y: "W", X: "W", G: "W"}, {"OS", "BR"}),
    "reinforce_memory": ({Y: "W", G: "W"}, set()),
    "lock_memory": ({Y: "W", G: "W"}, set()),
    "unlock_memory": ({Y: "W", G: "W"}, set()),
    "log_miss": ({X: "W"}, set()),
    "list_misses": ({X: "R"}, set()),
    "miss_clusters": ({X: "R"}, {"BR"}),
    "replay_misses": ({X: "R", Y: "R"}, {"OS", "BR"}),
    "extract": ({Y: "W", S: "W", G: "W"}, {"OS", "BR", "TEXT"}),
    "explain": ({Y: "R"}, {"OS", "BR"}),
    "mcp": ({S: "W", M: "W", Y: "W", X: "W", G: "W"}, {"OS", "BR"}),
    "health": ({}, set()),
    "openapi": ({}, set()),
    "docs": ({}, set()),
    "ui": ({}, set()),
    "fallback": ({}, set()),
    "authorizer": ({K: "R", L: "W"}, set()),
    "on_session_change": ({S: "W", M: "W", Y: "W", G: "W"}, {"OS", "BR", "TEXT"}),
    "on_memory_change": ({Y: "W"}, {"OS", "BR"}),  # settles access logs into their memories
    "sweep_sessions": ({S: "W"}, set()),
    "list_conflicts": ({G: "R", Y: "R"}, set()),
    "resolve_conflict": ({G: "W", Y: "W"}, {"OS"}),
    "memory_history": ({G: "R", Y: "R"}, set()),
    "list_deletions": ({G: "R"}, set()),
}
MANAGED = {"OpenSearchDataAccessPolicy": "OS", "BedrockEmbeddingPolicy": "BR", "BedrockTextPolicy": "TEXT"}
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}

SESSION_ID = re.compile(r"^sess_[0-9A-HJKMNP-TV-Z]{26}$")
MEMORY_ID = re.compile(r"^mem_[0-9A-HJKMNP-TV-Z]{26}$")
CONFLICT_ID = re.compile(r"^cfl_[0-9A-HJKMNP-TV-Z]{26}$")


# --- loading ------------------------------------------------------------------------------------


@cache
def template() -> dict[str, Any]:
    return load_yaml(TEMPLATE)  # the local runtime's CloudFormation-aware loader


def resources() -> dict[str, dict[str, Any]]:
    return template()["Resources"]


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def function(name: str) -> dict[str, Any]:
    return resources()[f"{camel(name)}Function"]


def http_route(name: str) -> tuple[str, str, dict[str, Any]]:
    events = function(name)["Properties"].get("Events", {})
    apis = [e["Properties"] for e in events.values() if e["Type"] == "HttpApi"]
    assert len(apis) == 1, f"{name}: expected exactly one HttpApi event, got {len(apis)}"
    # SAM: an HttpApi event with neither Path nor Method is the API's $default route
    return apis[0].get("Method", "ANY").upper(), apis[0].get("Path", "$default"), apis[0]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


# --- inventory ----------------------------------------------------------------------------------


def test_template_declares_exactly_the_expected_functions() -> None:
    declared = {
        props["Properties"]["CodeUri"].strip("/").split("/")[-1]: logical_id
        for logical_id, props in resources().items()
        if props["Type"] == "AWS::Serverless::Function"
    }
    assert sorted(declared) == sorted(ALL_FUNCTIONS)
    for name, logical_id in declared.items():
        assert logical_id == f"{camel(name)}Function"
        assert function(name)["Properties"]["CodeUri"] == f"functions/{name}/"


def test_every_function_has_an_event_file_and_nothing_else_does() -> None:
    assert sorted(p.stem for p in EVENTS.glob("*.json")) == sorted(ALL_FUNCTIONS)


def test_no_function_folder_without_a_template_entry() -> None:
    folders = {p.name for p in FUNCTIONS.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders <= set(ALL_FUNCTIONS), f"folders without a template entry: {sorted(folders - set(ALL_FUNCTIONS))}"


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_function_folder_has_the_handler_module(name: str) -> None:
    folder = FUNCTIONS / name
    if not folder.is_dir():
        pytest.skip(f"functions/{name}/ not written yet")
    assert (folder / "app.py").is_file(), f"functions/{name}/app.py (Handler app.lambda_handler) is missing"


ROUTE_DECORATOR = re.compile(r"@app\.(get|post|put|patch|delete)\(\s*\"([^\"]+)\"")


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_handler_declares_the_template_route(name: str) -> None:
    """The resolver route in app.py is the template's route (parameter names aside)."""
    app = FUNCTIONS / name / "app.py"
    if not app.is_file():
        pytest.skip(f"functions/{name}/app.py not written yet")
    routes = ROUTE_DECORATOR.findall(app.read_text())
    if not routes:
        pytest.skip(f"functions/{name}/app.py declares its route some other way")
    method, path, _ = http_route(name)
    if path == "$default":  # the catch-all serves GET / itself and answers 404/405 for the rest
        assert [(m.upper(), p) for m, p in routes] == [("GET", "/")]
        return

    def shape(p: str) -> str:
        return re.sub(r"<\w+>|\{\w+\}", "{}", p)

    assert [(m.upper(), shape(p)) for m, p in routes] == [(method, shape(path))]


# --- tables -------------------------------------------------------------------------------------


def conventions_tables() -> dict[str, dict[str, Any]]:
    """Parse the tables section of docs/CONVENTIONS.md into keys, GSIs, stream and TTL per table."""
    tables: dict[str, dict[str, Any]] = {}
    for line in CONVENTIONS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not cells[0].endswith("Table"):
            continue
        logical_id, env, keys, gsis, stream, ttl = cells
        gsi_map = {}
        for gname, spec in re.findall(r"`(\w+)` \(([^)]*)\)", gsis):
            gsi_map[gname] = re.findall(r"(\w+) ([SN])\b", spec)
        tables[logical_id] = {
            "env": env,
            "keys": re.findall(r"`(\w+)` ([SN])\b", keys),
            "gsis": gsi_map,
            "stream": None if stream in {"—", "-", ""} else stream,
            "ttl": None if ttl in {"—", "-", ""} else ttl.strip("`"),
        }
    assert len(tables) == 8, f"could not parse the tables of {CONVENTIONS}: {sorted(tables)}"
    return tables


@pytest.mark.parametrize("logical_id", sorted(conventions_tables()))
def test_table_matches_conventions(logical_id: str) -> None:
    doc = conventions_tables()[logical_id]
    table = resources()[logical_id]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    attr_types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}

    def schema(key_schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        ordered = sorted(key_schema, key=lambda k: k["KeyType"] != "HASH")
        return [(k["AttributeName"], attr_types[k["AttributeName"]]) for k in ordered]

    assert schema(props["KeySchema"]) == doc["keys"]
    gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    assert sorted(gsis) == sorted(doc["gsis"])
    for gname, keys in doc["gsis"].items():
        assert schema(gsis[gname]["KeySchema"]) == keys, gname
        assert gsis[gname]["Projection"] == {"ProjectionType": "ALL"}, gname
    used = {k for k, _ in doc["keys"]} | {k for keys in doc["gsis"].values() for k, _ in keys}
    assert set(attr_types) == used, "AttributeDefinitions must list exactly the key attributes"

    stream = props.get("StreamSpecification", {}).get("StreamViewType")
    assert stream == doc["stream"]
    ttl = props.get("TimeToLiveSpecification")
    if doc["ttl"]:
        assert ttl == {"AttributeName": doc["ttl"], "Enabled": True}
    else:
        assert ttl is None
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert "TableName" not in props, "let CloudFormation name tables (stacks side by side)"

    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env[doc["env"]] == {"Ref": logical_id}


def test_every_engram_variable_is_a_setting() -> None:
    from engram.config import Settings

    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    names = [k.removeprefix("ENGRAM_").lower() for k in env if k.startswith("ENGRAM_")]
    unknown = [n for n in names if n not in Settings.model_fields]
    assert not unknown, f"ENGRAM_* variables no setting reads: {unknown}"


def test_outputs_cover_what_the_cli_reads() -> None:
    from engram import cli

    reads = set(getattr(cli, "_STACK_OUTPUTS", {}))
    assert reads <= set(template()["Outputs"]), f"outputs the CLI needs: {sorted(reads - set(template()['Outputs']))}"


def test_data_tables_survive_stack_deletion() -> None:
    for logical_id in ["SessionsTable", "MessagesTable", "MemoriesTable", "MissesTable", "ApiKeysTable"]:
        assert resources()[logical_id]["DeletionPolicy"] == "Retain", logical_id
        assert resources()[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id


# --- routes, auth and permissions ---------------------------------------------------------------


def test_http_routes_are_unique_and_on_the_api() -> None:
    seen: dict[tuple[str, str], str] = {}
    for name in HTTP_FUNCTIONS:
        method, path, props = http_route(name)
        assert props["ApiId"] == {"Ref": "HttpApi"}, name
        assert path.startswith("/v1/") or path in {"/docs", "/ui", "/mcp", "$default"}, name
        assert (method, path) not in seen, f"{name} and {seen.get((method, path))} share {method} {path}"
        seen[(method, path)] = name
    for name in BACKGROUND_FUNCTIONS:
        events = function(name)["Properties"].get("Events", {})
        assert all(e["Type"] != "HttpApi" for e in events.values()), name


def test_every_route_is_in_the_openapi_document_or_a_page() -> None:
    """The fallback's 405 (with ``Allow``) knows the documented operations and the pages (docs.PAGES)."""
    from engram.api.docs import PAGES

    spec = json.loads((ROOT / "shared" / "engram" / "api" / "openapi.json").read_text())
    documented = {(method.upper(), path) for path, operations in spec["paths"].items() for method in operations}
    routes = {(http_route(n)[0].upper(), http_route(n)[1]) for n in HTTP_FUNCTIONS if http_route(n)[1] != "$default"}
    assert routes - documented == {(method.upper(), path) for path, methods in PAGES.items() for method in methods}


def test_only_public_routes_skip_the_authorizer() -> None:
    for name in HTTP_FUNCTIONS:
        _, _, props = http_route(name)
        public = props.get("Auth", {}).get("Authorizer") == "NONE"
        assert public == (name in PUBLIC_ROUTES), name


def test_authorizer_runs_for_every_request_without_caching() -> None:
    auth = resources()["HttpApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "EngramAuthorizer"
    authorizer = auth["Authorizers"]["EngramAuthorizer"]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["EnableFunctionDefaultPermissions"] is True
    # No Headers/QueryStrings/...: no identity source; ReauthorizeEvery 0: no cache.
    assert authorizer["Identity"] == {"ReauthorizeEvery": 0}


def access_of(name: str) -> tuple[dict[str, str], set[str]]:
    """(table -> R/W, {OS, BR, TEXT}) granted to a function, from SAM policies or its own role."""
    props = function(name)["Properties"]
    tables: dict[str, str] = {}
    extras: set[str] = set()

    def grant(table: str, mode: str) -> None:
        if tables.get(table) != "W":
            tables[table] = mode

    def managed(ref: Any) -> None:
        if isinstance(ref, dict) and "Ref" in ref:
            extras.add(MANAGED[ref["Ref"]])

    if "Role" in props:
        role_id = props["Role"]["Fn::GetAtt"][0]
        role = resources()[role_id]["Properties"]
        for arn in role.get("ManagedPolicyArns", []):
            managed(arn)
        for policy in role.get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                actions = set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
                targets = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                for target in targets:
                    if isinstance(target, dict) and "Fn::GetAtt" in target and target["Fn::GetAtt"][1] == "Arn":
                        table = target["Fn::GetAtt"][0]
                        if table.endswith("Table"):
                            grant(table, "W" if actions & WRITE_ACTIONS else "R")
    else:
        for policy in props.get("Policies", []):
            if "Ref" in policy:
                managed(policy)
            elif "DynamoDBCrudPolicy" in policy:
                grant(policy["DynamoDBCrudPolicy"]["TableName"]["Ref"], "W")
            elif "DynamoDBReadPolicy" in policy:
                grant(policy["DynamoDBReadPolicy"]["TableName"]["Ref"], "R")
            else:
                pytest.fail(f"{name}: unexpected policy {policy}")
    return tables, extras


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_least_privilege(name: str) -> None:
    tables, extras = access_of(name)
    expected_tables, expected_extras = ACCESS[name]
    expected = dict(expected_tables)
    if name in HTTP_FUNCTIONS and http_route(name)[0] == "POST" and name != "mcp":
        expected["IdempotencyTable"] = "W"  # Idempotency-Key replays (JSON-RPC over /mcp has its own ids)
    assert tables == expected
    assert extras == expected_extras


def test_opensearch_access_policy_names_every_opensearch_role() -> None:
    policy = resources()["VectorAccessPolicy"]["Properties"]["Policy"]["Fn::Sub"][0]
    roles = set(re.findall(r"\$\{(\w+)FunctionRole\.Arn\}", policy))
    expected = {camel(n) for n, (_, extras) in ACCESS.items() if "OS" in extras}
    assert roles == expected


def test_stream_consumers_retry_bisect_and_dead_letter() -> None:
    for name, table, dlq in [
        ("on_session_change", "SessionsTable", "SessionEventsDLQ"),
        ("on_memory_change", "MemoriesTable", "MemoryEventsDLQ"),
    ]:
        (event,) = function(name)["Properties"]["Events"].values()
        assert event["Type"] == "DynamoDB"
        props = event["Properties"]
        assert props["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
        assert props["StartingPosition"] == "TRIM_HORIZON"
        assert props["BatchSize"] == 10
        assert props["MaximumRetryAttempts"] == 3
        assert props["BisectBatchOnFunctionError"] is True
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": {"Fn::GetAtt": [dlq, "Arn"]}}
        queue = resources()[dlq]["Properties"]
        assert queue["MessageRetentionPeriod"] == 14 * 86400
        assert queue.get("KmsMasterKeyId") or queue.get("SqsManagedSseEnabled")


def test_sweep_runs_on_the_schedule_parameter() -> None:
    (event,) = function("sweep_sessions")["Properties"]["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == {"Ref": "SweepSchedule"}


# --- events -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_http_event_matches_its_route(name: str) -> None:
    method, path, _ = http_route(name)
    event = load_event(name)
    assert event["version"] == "2.0"
    assert event["routeKey"] == (path if path == "$default" else f"{method} {path}")
    ctx = event["requestContext"]
    assert ctx["routeKey"] == event["routeKey"]
    assert ctx["http"]["method"] == method or method == "ANY"
    assert ctx["http"]["path"] == event["rawPath"]
    assert ctx["stage"] == "$default"

    placeholders = re.findall(r"\{(\w+)\}", path)
    params = event.get("pathParameters", {})
    assert sorted(params) == sorted(placeholders)
    pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$" if path != "$default" else "^/"
    assert re.match(pattern, event["rawPath"]), event["rawPath"]
    for value in params.values():
        kind = SESSION_ID if "/sessions/" in path else CONFLICT_ID if "/conflicts/" in path else MEMORY_ID
        assert kind.match(value), value
        assert value in event["rawPath"]

    headers = event["headers"]
    assert all(h == h.lower() for h in headers), "HTTP API lower-cases header names"
    if name in PUBLIC_ROUTES:
        assert "authorizer" not in ctx
    else:
        assert headers["authorization"] == "Bearer test-key"
        assert ctx["authorizer"]["lambda"] == {"tenant_id": "tenant_demo", "key_id": "key_demo"}

    if method in {"POST", "PUT", "PATCH"}:
        assert headers["content-type"] == "application/json"
        assert isinstance(json.loads(event["body"]), dict)
        assert event["isBase64Encoded"] is False
    else:
        assert "body" not in event or event["body"] in (None, "")
    if "queryStringParameters" in event:
        assert event["rawQueryString"]
        assert all(isinstance(v, str) for v in event["queryStringParameters"].values())


def test_some_posts_carry_an_idempotency_key() -> None:
    keyed = [n for n in HTTP_FUNCTIONS if "idempotency-key" in load_event(n)["headers"]]
    assert len(keyed) >= 2
    assert all(http_route(n)[0] == "POST" for n in keyed)


def test_authorizer_event_is_an_http_api_v2_request() -> None:
    event = load_event("authorizer")
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["routeArn"].startswith("arn:aws:execute-api:")
    method, _, rest = event["routeKey"].partition(" ")
    assert (method, rest) in {http_route(n)[:2] for n in HTTP_FUNCTIONS}
    assert event["headers"]["authorization"].startswith("Bearer ")
    assert "authorizer" not in event["requestContext"]


@pytest.mark.parametrize(
    ("name", "table", "names"),
    [("on_session_change", "SessionsTable", {"MODIFY"}), ("on_memory_change", "MemoriesTable", {"INSERT"})],
)
def test_stream_event_records(name: str, table: str, names: set[str]) -> None:
    records = load_event(name)["Records"]
    assert records
    assert names <= {r["eventName"] for r in records}
    for record in records:
        assert record["eventSource"] == "aws:dynamodb"
        assert ":table/" in record["eventSourceARN"] and table in record["eventSourceARN"]
        assert "/stream/" in record["eventSourceARN"]
        ddb = record["dynamodb"]
        assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert set(ddb["Keys"]) == {"pk"}
        image = ddb.get("NewImage") or ddb["OldImage"]
        assert image["pk"] == ddb["Keys"]["pk"]
        assert image["pk"]["S"].startswith(image["tenant_id"]["S"] + "#"), "keys start with the tenant id"
    if name == "on_session_change":
        modify = next(r for r in records if r["eventName"] == "MODIFY")["dynamodb"]
        assert modify["OldImage"]["status"] == {"S": "active"}
        assert modify["NewImage"]["status"] == {"S": "ended"}
        assert modify["NewImage"]["kind"] == {"S": "session"}
        assert SESSION_ID.match(modify["NewImage"]["session_id"]["S"])


def test_sweep_event_is_a_scheduled_event() -> None:
    event = load_event("sweep_sessions")
    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"


# --- tools --------------------------------------------------------------------------------------


def test_cfn_lint_is_clean() -> None:
    local = Path(sys.executable).with_name("cfn-lint")  # .venv/bin/cfn-lint beside this interpreter
    cfn_lint = str(local) if local.exists() else shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.skip("cfn-lint not installed")
    result = subprocess.run([cfn_lint, str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_transform_disables_authorizer_caching(monkeypatch: pytest.MonkeyPatch) -> None:
    """What SAM generates: no identity source, TTL 0, and the authorizer invoke permission."""
    pytest.importorskip("samtranslator")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the translator resolves the partition
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

    text = re.sub(r"(CodeUri|ContentUri): \S+", r"\1: s3://bucket/key.zip", TEMPLATE.read_text())

    class Policies:
        def load(self) -> dict[str, str]:
            return {}

    out = transform(yaml_parse(text), {}, Policies())
    body = out["Resources"]["HttpApi"]["Properties"]["Body"]
    spec = body["components"]["securitySchemes"]["EngramAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert spec["authorizerResultTtlInSeconds"] == 0
    assert spec["identitySource"] == []
    assert spec["enableSimpleResponses"] is True
    assert "HttpApiEngramAuthorizerAuthorizerPermission" in out["Resources"]
    # The catch-all: API Gateway's $default route, any method, no authorizer, to functions/fallback.
    default = body["paths"]["/$default"]["x-amazon-apigateway-any-method"]
    assert default["isDefaultRoute"] is True and default["security"] == [{"NONE": []}]
    assert "FallbackFunction.Arn" in str(default["x-amazon-apigateway-integration"]["uri"])


def test_opensearch_client_does_not_need_grpc() -> None:
    """shared/Makefile drops opensearch-protobufs/grpcio/protobuf from the layer; keep that safe."""
    pytest.importorskip("opensearchpy")
    code = (
        "import sys\n"
        "import opensearchpy, opensearchpy.helpers\n"
        "from opensearchpy import OpenSearch, RequestsHttpConnection, AWSV4SignerAuth\n"
        "unused = ('grpc', 'google.protobuf', 'opensearch.protobufs')\n"
        "bad = [m for m in sys.modules if m.startswith(unused)]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_layer_build_ships_engram_without_the_local_runtime() -> None:
    layer = resources()["EngramLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["ContentUri"] == "shared/"
    makefile = (ROOT / "shared" / "Makefile").read_text()
    assert re.search(r"^build-EngramLayer:", makefile, re.M)
    assert 'rm -rf "$(SITE)/engram/local"' in makefile and '"$(SITE)/engram/testing"' in makefile
    assert "--platform $(LAMBDA_PLATFORM)" in makefile and "LAMBDA_PLATFORM := manylinux2014_x86_64" in makefile
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    dry = subprocess.run(
        ["make", "-n", "build-EngramLayer", "ARTIFACTS_DIR=/tmp/engram-layer-dry-run"],
        capture_output=True, text=True, cwd=ROOT / "shared", check=False,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "pip install" in dry.stdout and "--only-binary=:all:" in dry.stdout
