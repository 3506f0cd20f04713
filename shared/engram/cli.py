"""``engram`` — operator commands: API keys and index rebuilds, against local mode or an AWS stack.

    engram keys create --tenant acme [--name ci] [--secret S]      # local mode (make run) by default
    engram keys create --tenant acme --stack engram --region eu-west-1
    engram keys list --tenant acme
    engram keys revoke key_01J...
    engram reindex [--tenant acme]

Local mode: the running server writes ``<data dir>/runtime.json`` (its DynamoDB endpoint and table
names), which this command reads. AWS: the stack's Outputs name the tables; credentials come from
the usual AWS environment/profile.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

RUNTIME_FILE = "runtime.json"
_STACK_OUTPUTS = {
    "SessionsTableName": "ENGRAM_SESSIONS_TABLE",
    "MessagesTableName": "ENGRAM_MESSAGES_TABLE",
    "MemoriesTableName": "ENGRAM_MEMORIES_TABLE",
    "MissesTableName": "ENGRAM_MISSES_TABLE",
    "ApiKeysTableName": "ENGRAM_API_KEYS_TABLE",
    "RateLimitsTableName": "ENGRAM_RATE_LIMITS_TABLE",
    "IdempotencyTableName": "ENGRAM_IDEMPOTENCY_TABLE",
    "OpenSearchEndpoint": "ENGRAM_OPENSEARCH_ENDPOINT",
    "OpenSearchServiceType": "ENGRAM_OPENSEARCH_SERVICE",
}


class CliError(Exception):
    pass


def _target_environment(args: argparse.Namespace) -> dict[str, str]:
    if args.stack:
        import boto3

        cfn = boto3.client("cloudformation", region_name=args.region) if args.region else boto3.client("cloudformation")
        try:
            stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
        except Exception as exc:
            raise CliError(f"cannot read stack {args.stack!r}: {exc}") from exc
        env = {"ENGRAM_INDEX_BACKEND": "opensearch", "ENGRAM_EMBEDDER": "bedrock"}
        for output in stack.get("Outputs", []):
            name = _STACK_OUTPUTS.get(output["OutputKey"])
            if name:
                env[name] = output["OutputValue"]
        if args.region:
            env["AWS_REGION"] = args.region
        return env
    data_dir = Path(args.data_dir or os.environ.get("ENGRAM_DATA_DIR", ".engram"))
    runtime = data_dir / RUNTIME_FILE
    if not runtime.exists():
        raise CliError(f"no local server found ({runtime} missing): start it with `make run`, or pass --stack")
    info: dict[str, Any] = json.loads(runtime.read_text())
    return {str(k): str(v) for k, v in info.get("env", {}).items()}


def _apply(env: dict[str, str]) -> None:
    os.environ.update(env)
    from engram import container

    container.reset()


def _keys(args: argparse.Namespace) -> dict[str, Any]:
    from dataclasses import asdict

    from engram.container import api_keys

    service = api_keys()
    if args.keys_command == "create":
        created = service.create(tenant_id=args.tenant, name=args.name, secret=args.secret)
        return {
            "key_id": created.key_id,
            "tenant": created.tenant_id,
            "api_key": created.secret,
            "note": "shown once; store it now",
        }
    if args.keys_command == "revoke":
        return asdict(service.revoke(args.key_id))
    return {"keys": [asdict(k) for k in service.list(args.tenant)]}


def _reindex(args: argparse.Namespace) -> dict[str, Any]:
    from engram.container import reindex

    return {"reindexed": reindex(tenant_id=args.tenant)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engram", description="Engram operator commands")
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--stack", help="CloudFormation stack name (AWS); default is the local server")
    target.add_argument("--region", help="AWS region of the stack")
    target.add_argument("--data-dir", help="local mode data directory (default .engram or ENGRAM_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)

    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", parents=[target], help="create a key for a tenant")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name")
    create.add_argument("--secret", help="use this secret instead of a generated one")
    revoke = key_commands.add_parser("revoke", parents=[target], help="revoke a key by id")
    revoke.add_argument("key_id")
    listing = key_commands.add_parser("list", parents=[target], help="list a tenant's keys (never the secrets)")
    listing.add_argument("--tenant", required=True)

    reindex = commands.add_parser("reindex", parents=[target], help="rebuild the vector index from DynamoDB")
    reindex.add_argument("--tenant")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from engram.errors import EngramError

    try:
        _apply(_target_environment(args))
        result = _keys(args) if args.command == "keys" else _reindex(args)
    except (CliError, EngramError) as exc:
        print(f"engram: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
