"""``python -m engram.local``: serve the whole API locally (what ``make run`` starts).

Exit status: 0 after a clean stop (Ctrl-C or SIGTERM), 1 when start-up fails (the message says
why: port in use, template unreadable, ...) or DynamoDB's process dies while serving, 2 for a
command-line mistake.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from engram.local.runtime import LocalRuntime, LocalRuntimeError
from engram.local.workers import MAX_WORKERS, default_size, default_warm, exit_without_teardown, warm_count


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engram.local",
        description="Run Engram locally: the template's Lambda handlers behind a local HTTP API, "
        "DynamoDB from moto (kept under the data directory), streams and schedules.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=None, help="port to listen on (default $PORT, else 3000; 0 picks a free one)"
    )
    parser.add_argument(
        "--data-dir", default=None, help="where local state is kept (default $ENGRAM_DATA_DIR, else .engram)"
    )
    parser.add_argument(
        "--template", default=None, help="the SAM template (default $ENGRAM_TEMPLATE, else template.yaml)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="the most handler processes, each running one event at a time as a Lambda container does; "
        "more are started while every one is busy, and stopped after 5 minutes idle "
        f"(default $ENGRAM_LOCAL_WORKERS, else {default_size()} here; 0 runs handlers in the server process)",
    )
    parser.add_argument(
        "--warm-workers",
        type=int,
        default=None,
        help="handler processes started with the server and always kept "
        f"(default $ENGRAM_LOCAL_WARM_WORKERS, else {default_warm()} here, at most --workers)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log a line per request")
    parser.add_argument(
        "--lazy",
        action="store_true",
        help="start without importing the handlers or loading the embedding model: each is loaded on "
        "its first use, as Lambda does on a cold start (a faster start; a handler that cannot be "
        "imported then fails its requests instead of stopping the start)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    port = args.port
    if port is None:
        try:
            port = int(os.environ.get("PORT") or 3000)
        except ValueError:
            parser.error(f"PORT must be a number, not {os.environ['PORT']!r}")
    if not 0 <= port <= 65535:
        parser.error(f"port {port} is out of range")
    most_given = args.workers is not None or bool(os.environ.get("ENGRAM_LOCAL_WORKERS"))
    try:
        workers = _process_count(args.workers, "--workers", "ENGRAM_LOCAL_WORKERS", default_size(), 0)
        warm = _process_count(args.warm_workers, "--warm-workers", "ENGRAM_LOCAL_WARM_WORKERS", warm_count(workers), 1)
    except _CountError as exc:
        if exc.flag:
            parser.error(str(exc))
        print(f"engram.local: invalid configuration: {exc}", file=sys.stderr)
        return 1
    if workers and warm > workers:
        if not most_given:
            workers = warm  # asked for more warm processes than the default most: that many, then
        elif args.warm_workers is not None:
            parser.error(f"--warm-workers ({warm}) cannot be more than the most handler processes ({workers})")
        else:
            print(
                f"engram.local: invalid configuration: ENGRAM_LOCAL_WARM_WORKERS={warm}: cannot be more than "
                f"the most handler processes ({workers})",
                file=sys.stderr,
            )
            return 1
    separate = os.environ.get("ENGRAM_LOCAL_DYNAMO_PROCESS") or "1"
    if separate not in ("0", "1"):
        print(
            f"engram.local: invalid configuration: ENGRAM_LOCAL_DYNAMO_PROCESS={separate}: must be 1 (DynamoDB "
            "in a process of its own, the default with handler processes) or 0 (in the server process)",
            file=sys.stderr,
        )
        return 1
    data_dir = Path(args.data_dir or os.environ.get("ENGRAM_DATA_DIR") or ".engram")
    template = Path(args.template or os.environ.get("ENGRAM_TEMPLATE") or "template.yaml")
    if not template.is_file():
        print(
            f"engram.local: no template at {template.resolve()}; run from the repository root or pass --template PATH",
            file=sys.stderr,
        )
        return 1

    # Libraries (pynamodb, botocore) speak only when something is wrong; the runtime's own
    # notices have their own handler (see runtime._own_log_handler).
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)

    stop = threading.Event()
    runtime = LocalRuntime(
        template,
        data_dir,
        port=port,
        host=args.host,
        quiet=args.quiet,
        workers=workers,
        warm_workers=warm,
        warm_up=not args.lazy,
        progress=True,
        dynamo_process=bool(workers) and separate == "1",
        on_failure=lambda _: stop.set(),
    )
    signals_seen = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            # Acknowledged writes are already in the journal; only the snapshot is skipped.
            print("engram.local: stopping now without a snapshot", file=sys.stderr, flush=True)
            os._exit(130)
        # Nothing that takes a lock here: the handler runs between two steps of the main thread,
        # which may hold the very lock (an Event's) it would wait for.

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <pid>` prints every thread's stack (a stop that hangs)
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    try:
        runtime.start()
    except LocalRuntimeError as exc:
        print(f"engram.local: {exc}", file=sys.stderr)
        return 1
    _banner(runtime)
    # A timed wait: a signal the kernel hands to another thread than the main one does not end a
    # wait without a timeout, and its handler would only run when something else woke this thread.
    while not signals_seen and not stop.is_set():
        stop.wait(0.2)
    if runtime.failure is not None:
        print("engram.local: stopping: acknowledged writes are in the journal; start again to resume", flush=True)
        runtime.stop(snapshot=False)
        return 1
    print("engram.local: stopping (finishing requests, saving state)...", flush=True)
    runtime.stop()
    print("engram.local: stopped", flush=True)
    return 0


class _CountError(ValueError):
    def __init__(self, message: str, flag: bool) -> None:
        super().__init__(message)
        self.flag = flag  # a command-line mistake (exit 2), else a setting's (exit 1)


def _process_count(given: int | None, flag: str, variable: str, default: int, least: int) -> int:
    """A number of processes from the command line, else the environment, else the default."""
    if given is not None:
        if not least <= given <= MAX_WORKERS:
            raise _CountError(f"{flag} must be from {least} to {MAX_WORKERS}", flag=True)
        return given
    raw = os.environ.get(variable) or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not least <= value <= MAX_WORKERS:
        raise _CountError(f"{variable}={raw}: must be a whole number from {least} to {MAX_WORKERS}", flag=False)
    return value


def _banner(runtime: LocalRuntime) -> None:
    template = runtime.template
    assert template is not None
    lines = [
        f"Engram is running at {runtime.url}",
        f"  template  {template.path} ({len(template.functions)} functions, {len(template.routes)} routes, "
        f"{len(template.streams)} streams, {len(template.schedules)} schedules)",
        f"  data dir  {runtime.data_dir}",
        "  handlers  "
        + (
            f"{runtime.warm_workers} processes"
            + (f", up to {runtime.workers} while all are busy" if runtime.workers > runtime.warm_workers else "")
            + ", one event at a time each (--workers, --warm-workers to change)"
            if runtime.workers
            else "in the server process, one event at a time"
        ),
    ]
    if runtime.dynamo is not None:
        where = "a process of its own" if runtime.dynamo_process else "the server process"
        lines.append(f"  DynamoDB  {runtime.dynamo.endpoint} (moto in {where}, journaled under the data dir)")
    if runtime.api_key is not None:
        secret = runtime.api_key.secret
        lines += [
            f"  API key   {secret}  (tenant local)",
            f'  try       curl -H "Authorization: Bearer {secret}" {runtime.url}/v1/sessions',
            f"  inspector {runtime.url}/ui#key={secret}",
        ]
    else:
        lines.append("  API key   none registered (see the warning above)")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    # Everything is saved by now: runtime.stop wrote the snapshot, the journal was fsynced per write.
    exit_without_teardown(main())
