"""Create moto tables from template.yaml's own definitions, named as the settings name them."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from engram.local.template import load_yaml

ROOT = Path(__file__).resolve().parents[3]  # the repository this (editable) install lives in
TEMPLATE = ROOT / "template.yaml"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as data (the local runtime's CloudFormation-aware loader), parsed once per
    version of the file: every test that makes moto tables asks for it."""
    stat = path.stat()
    return copy.deepcopy(_parsed(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    return load_yaml(path)


def table_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id → CreateTable arguments (without TableName)."""
    tables: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        args: dict[str, Any] = {
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = [
                {k: v for k, v in gsi.items() if k in {"IndexName", "KeySchema", "Projection"}}
                for gsi in props["GlobalSecondaryIndexes"]
            ]
        if props.get("StreamSpecification"):
            args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        tables[logical_id] = args
    return tables


def table_env(template: dict[str, Any]) -> dict[str, str]:
    """Environment variable → table logical id, from Globals (``ENGRAM_X_TABLE: !Ref XTable``)."""
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {
        name: value["Ref"]
        for name, value in variables.items()
        if isinstance(value, dict) and value.get("Ref") in template["Resources"]
    }


def create_tables(client: Any, template: dict[str, Any] | None = None) -> dict[str, str]:
    """Create every table under the name the default settings give it; returns logical id → name."""
    from engram.config import Settings

    template = template or load_template()
    defaults = Settings()
    names: dict[str, str] = {}
    for env_name, logical_id in table_env(template).items():
        field = env_name.removeprefix("ENGRAM_").lower()
        names[logical_id] = getattr(defaults, field)
    for logical_id, args in table_definitions(template).items():
        client.create_table(TableName=names[logical_id], **args)
        ttl = template["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
        if ttl:
            client.update_time_to_live(
                TableName=names[logical_id],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
    return names
