"""LocalRuntime: the whole service on one machine, from ``template.yaml``.

Start order matters: settings are validated first, then the HTTP port is bound (a busy port fails
before any work), then DynamoDB is restored and the template's tables created, then the
environment every handler reads is put in place, the handler processes started (with the index
server they share), then the stream pumps attach (before any request can write), and only then
does the API start answering.

``workers=0`` runs every handler in this process, one event at a time (tests, benchmarks that
count calls in-process); ``workers=N`` runs them in N handler processes (``make run``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from engram.local.dynamo import DynamoError, LocalDynamo, Storage
from engram.local.dynamo_process import DynamoProcess, DynamoProcessError
from engram.local.lambdas import Invokable, LambdaFunction, new_namespace
from engram.local.schedule import DEFAULT_REAPER_SECONDS, Scheduler, TtlReaper
from engram.local.server import Gateway, GatewayHTTPServer
from engram.local.streams import StreamPump
from engram.local.template import DEFAULT_REGION, SamTemplate, parse_template
from engram.local.workers import PooledFunction, WorkerPool, WorkerStartError, warm_up_embedder

log = logging.getLogger("engram.local")

LOCAL_TENANT = "local"
MIN_SCHEDULE_SECONDS, MAX_SCHEDULE_SECONDS = 0.05, 86400.0
STOP_DRAIN_SECONDS = 5.0  # stream records still owed after this are delivered at the next start
API_KEY_FILE = "api-key"
RUNTIME_FILE = "runtime.json"  # read by `engram keys` and `engram reindex`

# Local mode swaps the AWS-only adapters for local ones (DESIGN.md, "Local mode"), whatever the
# template says for AWS; a variable set in the server's own environment still wins.
LOCAL_DEFAULTS = {
    "ENGRAM_INDEX_BACKEND": "local",
    "ENGRAM_EMBEDDER": "local",
}
# Libraries that draw progress bars on the terminal (model loading) would draw them among the
# request log lines; a value set in the server's environment wins.
QUIET_LIBRARIES = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false"}


class LocalRuntimeError(Exception):
    """Start-up failed for a reason the user can fix; the message says how."""


class PortInUse(LocalRuntimeError):
    pass


@dataclass(frozen=True)
class ApiKey:
    key_id: str | None
    secret: str


class LocalRuntime:
    """Serve the template's API on ``host:port`` with moto DynamoDB, streams and schedules.

    ``port=0`` picks a free port (see :attr:`port` after :meth:`start`). ``environ`` is the
    server's own environment (defaults to ``os.environ`` at start); its values win over the
    template's. ``schedule_seconds`` overrides every schedule interval and the TTL reaper's.
    ``workers`` is the most handler processes (0: handlers run in this process, one event at a
    time) and ``warm_workers`` (default: as many) the number started with the server and always
    kept; more are started while every one is busy (see :class:`~engram.local.workers.WorkerPool`).
    ``warm_up`` imports every handler (in each handler process) and loads the
    embedding model before the API answers; without it each is loaded on first use. ``progress``
    prints a line per start-up step. ``dynamo_process`` (default: with handler processes) runs
    DynamoDB in a process of its own (:mod:`~engram.local.dynamo_process`) instead of this one;
    ``on_failure`` is called with a message if that process dies while the runtime serves.
    """

    def __init__(
        self,
        template_path: str | Path,
        data_dir: str | Path,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        quiet: bool = True,
        out: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
        schedule_seconds: float | None = None,
        fsync: bool = False,
        workers: int = 0,
        warm_workers: int | None = None,
        warm_up: bool = False,
        progress: bool = False,
        dynamo_process: bool | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.template_path = Path(template_path)
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port
        self.quiet = quiet
        self._out = out or sys.stdout
        self._environ = environ
        self._schedule_seconds = schedule_seconds
        self._fsync = fsync
        self.workers = workers
        self.warm_workers = workers if warm_workers is None else min(warm_workers, workers)
        self._warm_up = warm_up
        self._progress = progress
        self.dynamo_process = bool(workers) if dynamo_process is None else dynamo_process
        self._on_failure = on_failure
        self.failure: str | None = None
        self.template: SamTemplate | None = None
        self.functions: dict[str, Invokable] = {}
        self.pool: WorkerPool | None = None
        self.index_server: Any = None
        self.dynamo: Storage | None = None
        self.pump: StreamPump | None = None
        self.scheduler: Scheduler | None = None
        self.reaper: TtlReaper | None = None
        self.api_key: ApiKey | None = None
        self.warnings: list[str] = []
        self._http: GatewayHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}
        self._schedule_override: float | None = None
        self._output_lock = threading.Lock()
        self._started = False

    # ---- public surface ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalRuntime:
        if self._started:
            raise LocalRuntimeError("this runtime is already started")
        _own_log_handler()
        environ = dict(os.environ if self._environ is None else self._environ)
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        try:
            template = parse_template(self.template_path, region=region)
        except Exception as exc:
            raise LocalRuntimeError(str(exc)) from exc
        self.template = template
        self._schedule_override = self._check_settings(template, environ)
        if self.workers:
            self.pool = WorkerPool(self.workers, template.functions, {}, progress=self._step, warm=self.warm_workers)
            self.functions = {fid: PooledFunction(spec, region, self.pool) for fid, spec in template.functions.items()}
        else:
            namespace, one_at_a_time = new_namespace(), threading.Lock()
            self.functions = {
                fid: LambdaFunction(spec, region, namespace, one_at_a_time) for fid, spec in template.functions.items()
            }
        self._bind_http(template)
        self._started = True
        try:
            self._start_services(template, environ, region)
        except BaseException:
            self.stop(snapshot=False)
            raise
        assert self._http is not None
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="engram-local-http", daemon=True
        )
        self._http_thread.start()
        return self

    def stop(self, snapshot: bool = True) -> None:
        """Stop accepting requests, finish in-flight ones, deliver pending stream records (for a
        few seconds: what is left stays checkpointed for the next start), stop the handler
        processes, snapshot DynamoDB, and restore the process environment."""
        if not self._started:
            return
        self._started = False
        clock = time.monotonic()

        def done(what: str) -> None:
            nonlocal clock
            self._step(f"{what} ({time.monotonic() - clock:.1f}s)")
            clock = time.monotonic()

        if self._http is not None:
            if self._http_thread is not None:
                self._http.drain()
                self._http_thread.join(timeout=30)
            else:
                self._http.server_close()
            self._http = None
            done("requests finished")
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.pump is not None:
            try:
                delivered = self.pump.drain(timeout=STOP_DRAIN_SECONDS)
            except DynamoError:  # DynamoDB's process is gone: the journal holds what it acknowledged
                delivered = False
            self.pump.stop()
            done("stream records delivered" if delivered else "stream delivery stopped; the rest resumes at next start")
        if self.pool is not None:
            self.pool.stop()
            done("handler processes stopped")
        if self.index_server is not None:
            self.index_server.stop()
        if self.dynamo is not None:
            self.dynamo.stop(snapshot=snapshot)
            if snapshot:
                done("DynamoDB snapshot written")
        (self.data_dir / RUNTIME_FILE).unlink(missing_ok=True)
        for function in self.functions.values():
            unload = getattr(function, "unload", None)
            if callable(unload):
                unload()
        self._restore_environment()

    def _dynamo_exited(self, code: int) -> None:
        self.failure = f"DynamoDB's process exited unexpectedly (exit code {code}); the server cannot go on"
        self._error(self.failure)
        if self._on_failure is not None:
            self._on_failure(self.failure)

    def reap_ttl(self) -> int:
        """Run the TTL reaper now; returns the number of expired items deleted."""
        assert self.reaper is not None, "start() first"
        return self.reaper.reap()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- start-up steps ---------------------------------------------------------------------

    def _bind_http(self, template: SamTemplate) -> None:
        gateway = Gateway(template, self.functions, self._error)
        try:
            self._http = GatewayHTTPServer((self.host, self.port), gateway, None if self.quiet else self._log_request)
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise PortInUse(
                    f"port {self.port} on {self.host} is already in use; stop what is using it "
                    "or choose another port (PORT=3001 make run, or --port 3001)"
                ) from exc
            raise LocalRuntimeError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        self.port = int(self._http.server_address[1])

    def _start_services(self, template: SamTemplate, environ: dict[str, str], region: str) -> None:
        # DynamoDB first: the environment refers to its endpoint and table names.
        self._set_environment(
            {
                "AWS_REGION": environ.get("AWS_REGION", region),
                "AWS_DEFAULT_REGION": environ.get("AWS_DEFAULT_REGION", region),
                # moto accepts any credentials; real ones are kept for anything else.
                "AWS_ACCESS_KEY_ID": environ.get("AWS_ACCESS_KEY_ID", "local"),
                "AWS_SECRET_ACCESS_KEY": environ.get("AWS_SECRET_ACCESS_KEY", "local"),
                # Without it botocore builds account-based endpoints and moto answers
                # DescribeStream with a 404.
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            }
        )
        dynamo: Storage
        if self.dynamo_process:
            dynamo = DynamoProcess(
                self.data_dir / "dynamodb", region, host="127.0.0.1", fsync=self._fsync, on_exit=self._dynamo_exited
            )
        else:
            dynamo = LocalDynamo(self.data_dir / "dynamodb", region, host="127.0.0.1", fsync=self._fsync)
        self.dynamo = dynamo
        where = " in a process of its own" if self.dynamo_process else ""
        self._step(f"restoring DynamoDB{where} from {self.data_dir / 'dynamodb'}")
        try:
            dynamo.start()
        except DynamoProcessError as exc:
            raise LocalRuntimeError(str(exc)) from exc
        except OSError as exc:
            raise LocalRuntimeError(f"cannot use the data directory {self.data_dir}: {exc}") from exc
        stats = dynamo.stats
        self._step(
            f"DynamoDB ready: {stats['snapshot_items']} items from the snapshot, {stats['replayed']} journal "
            "entries replayed"
        )
        self._set_environment(
            {
                # Local mode must never reach a real DynamoDB, whatever the environment says.
                "AWS_ENDPOINT_URL_DYNAMODB": dynamo.endpoint,
                "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamo.endpoint,  # botocore's name
                "AWS_ENDPOINT_URL_DYNAMODBSTREAMS": dynamo.endpoint,
            }
        )
        self.warnings += dynamo.ensure_tables(template.tables.values())
        for table in template.tables.values():
            if table.stream_view_type:
                arn = dynamo.describe(table.table_name).get("LatestStreamArn")
                if arn:
                    template.stream_arns[table.logical_id] = str(arn)

        variables, warnings = self._function_environment(template, environ)
        self.warnings += warnings
        for name, value in QUIET_LIBRARIES.items():
            variables.setdefault(name, environ.get(name, value))
        self._set_environment(variables)
        _forget_process_caches()

        if "ENGRAM_API_KEYS_TABLE" in variables:
            self.api_key = self._ensure_api_key(environ)
        else:
            self.warnings.append("the template sets no ENGRAM_API_KEYS_TABLE; no API key was registered")

        shared = self._start_handlers(variables)
        self._write_runtime_file({**variables, **shared}, dynamo.endpoint)

        self.pump = StreamPump(dynamo, self.data_dir, fsync=self._fsync)
        for subscription in template.streams:
            if subscription.enabled:
                table = template.tables[subscription.table_id]
                self.pump.subscribe(subscription, self.functions[subscription.function_id], table.table_name)
        self.pump.start()
        owed = self.pump.backlog()
        if owed:
            self._step(f"stream consumers resume from their checkpoints: {owed} records still to deliver")

        self.reaper = TtlReaper(dynamo)
        self.scheduler = Scheduler()
        override = self._schedule_override
        for schedule in template.schedules:
            seconds = override or schedule.interval_seconds
            if not schedule.enabled:
                continue
            if seconds is None:
                self.warnings.append(
                    f"{schedule.function_id}.{schedule.event_name}: {schedule.expression!r} is not a "
                    "rate() expression; set ENGRAM_LOCAL_SCHEDULE_SECONDS to run it locally"
                )
                continue
            self.scheduler.add_function(schedule, self.functions[schedule.function_id], seconds, region)
        reaper = self.reaper
        self.scheduler.every("ttl-reaper", override or DEFAULT_REAPER_SECONDS, lambda: _ignore(reaper.reap()))
        self.scheduler.start()
        for warning in self.warnings:
            self._error(f"warning: {warning}")

    def _start_handlers(self, variables: Mapping[str, str]) -> dict[str, str]:
        """Serve the local index to other processes, then start the handler processes (or warm
        this one). Returns what another process needs to reach the index: the handler processes,
        and ``engram reindex`` run beside the server (through ``runtime.json``), so the index is
        only ever written by this process."""
        from engram.config import get_settings

        shared: dict[str, str] = {}
        settings = get_settings()
        if settings.index_backend == "local":
            from engram.index import get_index
            from engram.local.shared_index import IndexServer

            key = secrets.token_hex(32)
            self.index_server = IndexServer(get_index(settings), bytes.fromhex(key))
            self.index_server.start()
            shared = {"ENGRAM_LOCAL_INDEX_ADDRESS": self.index_server.address, "ENGRAM_LOCAL_INDEX_KEY": key}
        if self.pool is None:
            if self._warm_up:
                self._step("loading the embedding model")
                warm_up_embedder(self._error)
            return shared
        self._step(
            f"starting {self.pool.warm} handler processes"
            + (" (each imports the handlers and loads the embedding model)" if self._warm_up else "")
        )
        self.pool.configure(environ={**os.environ, **shared}, warm_up=self._warm_up)
        try:
            self.pool.start()
        except WorkerStartError as exc:
            raise LocalRuntimeError(str(exc)) from exc
        return shared

    def _function_environment(
        self, template: SamTemplate, environ: Mapping[str, str]
    ) -> tuple[dict[str, str], list[str]]:
        """What the handlers' environment will be: the template's, local mode's defaults, then the
        server's own environment (which wins)."""
        variables, warnings = template.environment()
        for name, value in LOCAL_DEFAULTS.items():
            variables[name] = value
        for name in list(variables):
            if name in environ:
                variables[name] = environ[name]
        variables["ENGRAM_DATA_DIR"] = str(self.data_dir)
        return variables, warnings

    def _check_settings(self, template: SamTemplate, environ: Mapping[str, str]) -> float | None:
        """Validate every setting once, before anything starts, naming the variable, its value and
        its bound (a bad one would otherwise fail later, far from its cause). Returns the schedule
        interval override, if any."""
        from engram.config import load_settings
        from engram.errors import EngramError

        variables, _ = self._function_environment(template, environ)
        settings = {name: value for name, value in variables.items() if name.startswith("ENGRAM_")}
        settings.update({name: value for name, value in environ.items() if name.startswith("ENGRAM_")})
        try:
            load_settings(settings)
        except EngramError as exc:
            raise LocalRuntimeError(f"{exc}; change it in the environment (or template.yaml) and start again") from exc
        if self._schedule_seconds is not None:
            return self._schedule_seconds
        raw = environ.get("ENGRAM_LOCAL_SCHEDULE_SECONDS")
        if not raw:
            return None
        try:
            seconds = float(raw)
        except ValueError:
            seconds = float("nan")
        if not MIN_SCHEDULE_SECONDS <= seconds <= MAX_SCHEDULE_SECONDS:
            raise LocalRuntimeError(
                f"invalid configuration: ENGRAM_LOCAL_SCHEDULE_SECONDS={raw}: must be a number of seconds "
                f"from {MIN_SCHEDULE_SECONDS:g} to {MAX_SCHEDULE_SECONDS:g}"
            )
        return seconds

    def _write_runtime_file(self, variables: Mapping[str, str], endpoint: str) -> None:
        """Tell `engram keys …` / `engram reindex` (run in another shell) how to reach this server's
        DynamoDB and which tables and index to use; removed again on a clean stop."""
        env = {name: value for name, value in variables.items() if name.startswith("ENGRAM_")}
        env.update(
            {
                "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
                "AWS_REGION": os.environ.get("AWS_REGION", DEFAULT_REGION),
            }
        )
        runtime_file = self.data_dir / RUNTIME_FILE
        runtime_file.write_text(
            json.dumps({"url": self.url, "pid": os.getpid(), "env": env}, indent=2), encoding="utf-8"
        )
        runtime_file.chmod(0o600)

    def _ensure_api_key(self, environ: Mapping[str, str]) -> ApiKey | None:
        """Register the local tenant's key: ENGRAM_API_KEY, else the one kept in the data dir,
        else a new one (kept there so it survives restarts)."""
        key_file = self.data_dir / API_KEY_FILE
        secret = environ.get("ENGRAM_API_KEY") or None
        generated = False
        if secret is None and key_file.exists():
            secret = key_file.read_text(encoding="utf-8").strip() or None
        try:
            from engram import container
            from engram.services import auth
        except ImportError as exc:
            self.warnings.append(f"no API key was registered (engram.services.auth unavailable: {exc})")
            return None
        if secret is None:
            secret = getattr(auth, "SECRET_PREFIX", "egm_") + secrets.token_urlsafe(30)
            generated = True
        try:
            created = container.api_keys().create(tenant_id=LOCAL_TENANT, name="local", secret=secret)
        except Exception as exc:
            raise LocalRuntimeError(f"registering the local API key failed: {exc}") from exc
        if generated:
            key_file.write_text(secret + "\n", encoding="utf-8")
            key_file.chmod(0o600)
        return ApiKey(key_id=getattr(created, "key_id", None), secret=str(created.secret))

    # ---- environment ------------------------------------------------------------------------

    def _set_environment(self, variables: Mapping[str, str]) -> None:
        for name, value in variables.items():
            if name not in self._saved_env:
                self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        _forget_process_caches()

    # ---- output -----------------------------------------------------------------------------

    def _step(self, message: str) -> None:
        if self._progress:
            with self._output_lock:
                self._out.write(f"engram.local: {message}\n")
                self._out.flush()

    def _log_request(self, method: str, path: str, status: int, elapsed_ms: float) -> None:
        with self._output_lock:
            self._out.write(f"{method} {path} {status} {elapsed_ms:.0f}ms\n")
            self._out.flush()

    def _error(self, message: str) -> None:
        with self._output_lock:
            sys.stderr.write(f"engram.local: {message}\n")
            sys.stderr.flush()


def _own_log_handler() -> None:
    """Send the runtime's notices straight to stderr: handlers configure the root logger
    (Powertools), which would dress them up as some function's JSON log lines."""
    logger = logging.getLogger("engram.local")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("engram.local: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def _ignore(_: Any) -> None:
    return None


def _forget_process_caches() -> None:
    """Drop what earlier code in this process cached from an older environment.

    Handlers read settings through a cache, and PynamoDB models keep a connection (and so an
    endpoint) per model class. Lambda never changes a process's environment; a runtime started
    after another one in the same process (tests, benchmarks) does.
    """
    from engram.config import reset_settings

    reset_settings()
    if "engram.container" in sys.modules:
        sys.modules["engram.container"].reset()
    models = sys.modules.get("pynamodb.models")
    if models is not None:
        pending = list(models.Model.__subclasses__())
        while pending:
            model = pending.pop()
            pending += model.__subclasses__()
            if "_connection" in vars(model):
                model._connection = None
