"""Reading template.yaml: routes, tables, stream and schedule settings, environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from engram.local.template import TemplateError, parse_template, rate_seconds
from tests.local.helpers import FIXTURE_TEMPLATE

REPO_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_fixture_template_model() -> None:
    template = parse_template(FIXTURE_TEMPLATE)

    keys = {route.route_key: route for route in template.routes}
    assert set(keys) >= {"GET /echo/{id}", "GET /echo/static", "ANY /files/{proxy+}", "PUT /items/{id}"}
    assert keys["GET /echo/{id}"].authorizer == "TestAuthorizer"  # the DefaultAuthorizer
    assert keys["GET /public"].authorizer is None  # Auth: {Authorizer: NONE}
    echo = template.functions["EchoFunction"]
    assert echo.handler_file == FIXTURE_TEMPLATE.parent / "functions" / "echo" / "app.py"
    assert echo.handler_attribute == "lambda_handler"  # from Globals
    assert (echo.timeout_seconds, echo.memory_mb) == (10.0, 256)

    items = template.tables["ItemsTable"]
    assert items.table_name == "engram-local-ItemsTable"
    assert items.ttl_attribute == "expires_at"
    assert items.stream_view_type == "NEW_AND_OLD_IMAGES"

    (stream,) = template.streams
    assert (stream.function_id, stream.table_id, stream.batch_size) == ("ConsumerFunction", "ItemsTable", 10)
    assert stream.maximum_retry_attempts == 2
    assert stream.report_batch_item_failures
    assert stream.on_failure_destination and stream.on_failure_destination.startswith("arn:aws:sqs:")

    (schedule,) = template.schedules
    assert (schedule.function_id, schedule.interval_seconds) == ("TickFunction", 300)

    api = template.apis["HttpApi"]
    authorizer = api.authorizers["TestAuthorizer"]
    assert (authorizer.function_id, authorizer.simple_responses) == ("AuthorizerFunction", True)


def test_environment_resolves_refs_parameters_conditions_and_sub() -> None:
    variables, warnings = parse_template(FIXTURE_TEMPLATE).environment()
    assert variables["ITEMS_TABLE"] == "engram-local-ItemsTable"
    assert variables["GREETING"] == "hello"  # the parameter's Default
    assert variables["MODE_LABEL"] == "running-locally"  # !If on !Equals
    assert variables["STACK_LABEL"] == "engram-local-label"  # !Sub with a pseudo parameter
    assert variables["FIXTURE_STREAM_LOG"] == ""
    assert "UNRESOLVABLE" not in variables
    assert any("UNRESOLVABLE" in warning for warning in warnings)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


def test_cron_is_not_a_rate() -> None:
    assert rate_seconds("cron(0 12 * * ? *)") is None


def test_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read template"):
        parse_template(tmp_path / "nope.yaml")


@pytest.mark.skipif(not REPO_TEMPLATE.exists(), reason="the project template is not written yet")
def test_project_template_parses() -> None:
    template = parse_template(REPO_TEMPLATE)
    keys = {route.route_key for route in template.routes}
    assert "GET /v1/health" in keys
    assert {table.logical_id for table in template.tables.values()} >= {"SessionsTable", "ApiKeysTable"}
    variables, _ = template.environment()
    assert variables["ENGRAM_SESSIONS_TABLE"] == template.tables["SessionsTable"].table_name
