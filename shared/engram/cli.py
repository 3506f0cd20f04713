"""``engram``: operator and client commands, against local mode (``make run``) or a deployed stack.

Where a command acts, one convention for every command:

- commands that call the API (``export``, ``import``, ``mcp``): ``--url`` and ``--api-key``
  (default ``ENGRAM_URL`` / ``ENGRAM_API_KEY``, else the local server found in the data directory);
- commands that work on the tables (``keys``, ``reindex``): ``--data-dir`` for local mode (default
  ``ENGRAM_DATA_DIR``, else ``.engram``) or ``--stack`` / ``--region`` for a stack on AWS.

Local mode: the running server writes ``<data dir>/runtime.json`` (its URL, DynamoDB endpoint and
table names) and keeps its generated API key in ``<data dir>/api-key``. AWS: the stack's Outputs
name the tables; credentials come from the usual AWS environment or profile.

Exit status: 0 on success, 1 when an import skipped or failed records, 2 for a usage or
configuration error (the message says what to change).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

RUNTIME_FILE = "runtime.json"
API_KEY_FILE = "api-key"
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
_NO_LOCAL_SERVER = (
    "no local server found in {where} ({file} is missing): start one with `make run`, point at its data "
    "directory with --data-dir DIR or ENGRAM_DATA_DIR, or {alternative}"
)


class CliError(Exception):
    pass


# --- where a command acts ---------------------------------------------------------------------------


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "data_dir", None) or os.environ.get("ENGRAM_DATA_DIR") or ".engram")


def _table_environment(args: argparse.Namespace) -> dict[str, str]:
    """The settings that point the services at the tables: a stack's Outputs, or the local server's."""
    if args.stack:
        return _stack_environment(args.stack, args.region)
    runtime = _data_dir(args) / RUNTIME_FILE
    if not runtime.exists():
        raise CliError(
            _NO_LOCAL_SERVER.format(
                where=runtime.parent, file=RUNTIME_FILE, alternative="use a stack with --stack NAME --region REGION"
            )
        )
    info: dict[str, Any] = json.loads(runtime.read_text())
    return {str(k): str(v) for k, v in info.get("env", {}).items()}


def _stack_environment(stack: str, region: str | None) -> dict[str, str]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    try:
        cfn = boto3.client("cloudformation", region_name=region)
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except NoRegionError as exc:
        raise CliError(f"no AWS region for stack {stack!r}: pass --region REGION or set AWS_REGION") from exc
    except (BotoCoreError, ClientError) as exc:
        raise CliError(f"cannot read stack {stack!r}: {exc}") from exc
    env = {"ENGRAM_INDEX_BACKEND": "opensearch", "ENGRAM_EMBEDDER": "bedrock"}
    for output in described.get("Outputs", []):
        name = _STACK_OUTPUTS.get(output["OutputKey"])
        if name:
            env[name] = output["OutputValue"]
    env["AWS_REGION"] = cfn.meta.region_name
    return env


def _use_tables(args: argparse.Namespace) -> None:
    os.environ.update(_table_environment(args))
    from engram import container

    container.reset()


def _api_client(args: argparse.Namespace) -> Any:
    """An SDK client: --url/--api-key, else ENGRAM_URL/ENGRAM_API_KEY, else the local server's."""
    try:
        from engram_client import Engram
    except ImportError as exc:  # pragma: no cover - make install installs it
        raise CliError("the engram-client package is not installed: pip install ./clients/python") from exc
    url, key = _api_target(args)
    return Engram(url, key)


def _api_target(args: argparse.Namespace) -> tuple[str, str]:
    url = args.url or os.environ.get("ENGRAM_URL")
    key = args.api_key or os.environ.get("ENGRAM_API_KEY")
    if url and key:
        return url, key
    data_dir = _data_dir(args)
    runtime = data_dir / RUNTIME_FILE
    if not url:
        if not runtime.exists():
            raise CliError(
                _NO_LOCAL_SERVER.format(
                    where=data_dir, file=RUNTIME_FILE, alternative="name an API with --url URL or ENGRAM_URL"
                )
            )
        url = str(json.loads(runtime.read_text()).get("url") or "")
    if not key:
        key_file = data_dir / API_KEY_FILE
        if not key_file.exists():
            raise CliError(f"no API key: pass --api-key KEY or set ENGRAM_API_KEY ({key_file} is missing)")
        key = key_file.read_text(encoding="utf-8").strip()
    return url, key


# --- commands -------------------------------------------------------------------------------------


def _keys(args: argparse.Namespace) -> dict[str, Any]:
    from dataclasses import asdict

    from engram.container import api_keys

    _use_tables(args)
    service = api_keys()
    if args.keys_command == "create":
        created = service.create(tenant_id=args.tenant, name=args.name, secret=args.secret)
        return {
            "key_id": created.key_id,
            "tenant_id": created.tenant_id,
            "api_key": created.secret,
            "note": "shown once; store it now",
        }
    if args.keys_command == "revoke":
        return asdict(service.revoke(args.key_id))
    return {"keys": [asdict(k) for k in service.list(args.tenant)]}


def _reindex(args: argparse.Namespace) -> dict[str, Any]:
    from engram.container import reindex
    from engram.progress import Progress

    _use_tables(args)
    with Progress("reindex", unit="memories") as progress:
        return {"reindexed": reindex(tenant_id=args.tenant, progress=progress.update)}


def _export(args: argparse.Namespace) -> dict[str, Any]:
    from engram.progress import Progress
    from engram.transfer.exporter import export

    client = _api_client(args)
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle, Progress("export", unit="records") as progress:
        counts = export(client, handle, progress=progress)
    partial.replace(out)  # a failed export never leaves a file that looks complete
    plural = {"session": "sessions", "message": "messages", "memory": "memories", "miss": "misses"}
    return {"out": str(out), **{plural[kind]: counts[kind] for kind in plural}}


def _import(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    from engram.progress import Progress
    from engram.transfer.formats import read
    from engram.transfer.importer import Importer, Stop

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    client = None if args.dry_run else _api_client(args)
    stopped = None
    with Progress("import", unit="records") as progress:
        importer = Importer(client, strict=args.strict, progress=progress, clock=time.monotonic)
        try:
            report = importer.run(read(path, args.format, args.namespace))
        except Stop as exc:
            report, stopped = importer.report, str(exc)
        rate = progress.rate()
    summary: dict[str, Any] = {
        "file": str(path),
        "format": args.format,
        "dry_run": args.dry_run,
        "counts": dict(sorted(report.counts.items())),
        "records_per_second": round(rate, 1),
        "seconds_in_batch_endpoint": round(report.seconds_in_batch, 3),
        "problems": report.problems[:100],
    }
    if len(report.problems) > 100:
        summary["problems_not_shown"] = len(report.problems) - 100
    if stopped:
        summary["stopped"] = f"--strict: {stopped}"
    for problem in report.problems[:100]:
        print(f"engram import: {problem}", file=sys.stderr)
    return summary, (1 if report.problems else 0)


def _mcp(args: argparse.Namespace) -> None:
    from engram import __version__
    from engram.mcp.api_backend import ApiBackend
    from engram.mcp.tools import build_server
    from engram_client import AsyncEngram

    url, key = _api_target(args)
    backend = ApiBackend(AsyncEngram(url, key))
    build_server(lambda: backend, version=__version__).run("stdio")


# --- the parser -----------------------------------------------------------------------------------


def _command(
    commands: Any, name: str, help_text: str, example: str, parents: list[argparse.ArgumentParser]
) -> argparse.ArgumentParser:
    return commands.add_parser(  # type: ignore[no-any-return]
        name,
        parents=parents,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="engram",
        description="Engram commands. Table commands (keys, reindex) act on local mode (--data-dir) or a stack "
        "(--stack/--region); API commands (export, import, mcp) call an API (--url/--api-key).",
        epilog="examples:\n  engram keys create --tenant acme\n  engram export --out backup.ndjson\n"
        "  engram import backup.ndjson --format engram\n  engram mcp --url https://api.example.com --api-key egm_...",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    local = argparse.ArgumentParser(add_help=False)
    local.add_argument("--data-dir", help="local mode's data directory (default $ENGRAM_DATA_DIR, else .engram)")
    tables = argparse.ArgumentParser(add_help=False, parents=[local])
    tables.add_argument("--stack", help="act on this CloudFormation stack (AWS) instead of the local server")
    tables.add_argument("--region", help="the stack's AWS region (default $AWS_REGION)")
    api = argparse.ArgumentParser(add_help=False, parents=[local])
    api.add_argument("--url", help="the API's URL (default $ENGRAM_URL, else the local server's)")
    api.add_argument("--api-key", help="an API key (default $ENGRAM_API_KEY, else the local server's)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = commands.add_parser("keys", help="create, list and revoke API keys", description="API keys of a tenant.")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = _command(
        key_commands, "create", "create a key for a tenant (shown once)", "engram keys create --tenant acme", [tables]
    )
    create.add_argument("--tenant", required=True)
    create.add_argument("--name")
    create.add_argument("--secret", help="use this secret instead of a generated one")
    revoke = _command(key_commands, "revoke", "revoke a key by id", "engram keys revoke key_01J...", [tables])
    revoke.add_argument("key_id")
    listing = _command(
        key_commands,
        "list",
        "list a tenant's keys (never the secrets)",
        "engram keys list --tenant acme --stack engram --region eu-west-1",
        [tables],
    )
    listing.add_argument("--tenant", required=True)

    reindex = _command(
        commands, "reindex", "rebuild the vector index from DynamoDB", "engram reindex --tenant acme", [tables]
    )
    reindex.add_argument("--tenant", help="only this tenant (default: all)")

    export = _command(
        commands,
        "export",
        "write the key's tenant (sessions, messages, memories, misses) to NDJSON",
        "engram export --out backup.ndjson --url https://api.example.com --api-key egm_...",
        [api],
    )
    export.add_argument("--out", required=True, help="the NDJSON file to write")

    load = _command(
        commands,
        "import",
        "load memories (and, from an Engram export, sessions, messages and misses) into the key's tenant",
        "engram import mem0-dump.json --format mem0 --namespace alice --dry-run",
        [api],
    )
    load.add_argument("file", help="the file to import")
    load.add_argument(
        "--format",
        required=True,
        choices=("engram", "mem0", "agentcore"),
        help="engram: `engram export` NDJSON; mem0: get_all JSON; agentcore: ListMemoryRecords JSON",
    )
    load.add_argument("--namespace", help="put every memory in this namespace (foreign formats)")
    load.add_argument("--dry-run", action="store_true", help="read and check every record; write nothing")
    load.add_argument("--strict", action="store_true", help="stop at the first record that cannot be imported")

    _command(
        commands,
        "mcp",
        "run the MCP server over stdio (for Claude Desktop, Cursor, ...), calling the API",
        "engram mcp --url http://127.0.0.1:3000 --api-key egm_...",
        [api],
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from engram.errors import EngramError
    from engram_client import EngramError as ApiError

    status = 0
    try:
        if args.command == "mcp":
            _mcp(args)
            return 0
        if args.command == "keys":
            result = _keys(args)
        elif args.command == "reindex":
            result = _reindex(args)
        elif args.command == "export":
            result = _export(args)
        else:
            result, status = _import(args)
    except (CliError, EngramError, ApiError) as exc:
        print(f"engram: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
