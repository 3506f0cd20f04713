"""Handler processes: local mode's Lambda containers.

On Lambda, concurrency is more containers, each running one event at a time. Here it is more
processes: a :class:`WorkerPool` starts ``warm`` copies of ``python -m engram.local.workers``,
each of which imports every function of the template once and then runs the events it is sent,
one at a time (:class:`~engram.local.lambdas.LambdaFunction`). When an event finds every process
busy, the pool starts another (a cold start), up to ``size``, as Lambda scales out under load;
one that has been idle for :data:`RETIRE_IDLE_SECONDS` is stopped again, down to ``warm``, as
Lambda reclaims idle containers. The main process keeps what must
exist once: the HTTP gateway, moto with its journal, the stream pumps, the schedule and the local
vector index (served to the workers by :mod:`engram.local.shared_index`). Workers reach DynamoDB
over HTTP at moto's endpoint, as they would reach DynamoDB from Lambda, so every write still goes
through the journal before it is acknowledged.

Messages travel over ``multiprocessing.connection`` on a localhost socket, authenticated by a
per-run key. A worker that dies mid-event fails that event (a 500, or a stream retry) and is
replaced. Workers ignore Ctrl-C and SIGTERM (a terminal or a service manager signals the whole
process group; the main process then stops them in order) and exit when told to, or when the main
process's end of the connection closes (it was killed).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from multiprocessing.connection import Client, Connection, Listener
from typing import Any, NoReturn

from engram.index.remote import no_delay
from engram.local.dynamo_client import install as install_dynamo_client
from engram.local.lambdas import (
    Authorized,
    AuthorizerInvocationError,
    InvocationError,
    LambdaFunction,
    authorizer_verdict,
    new_namespace,
)
from engram.local.rpc import exit_with_parent
from engram.local.template import ACCOUNT_ID, FunctionSpec

log = logging.getLogger("engram.local.workers")

ADDRESS_VARIABLE = "ENGRAM_LOCAL_WORKER_ADDRESS"
KEY_VARIABLE = "ENGRAM_LOCAL_WORKER_KEY"
ID_VARIABLE = "ENGRAM_LOCAL_WORKER_ID"
MAX_WORKERS = 32
IDLE_WAIT_SECONDS = 900.0  # Lambda's longest timeout: a queued event waits at most this for a process
RETIRE_IDLE_SECONDS = 300.0  # a process above the warm count idle this long is stopped
_RETIRE_CHECK_SECONDS = 30.0


def default_warm() -> int:
    """Processes started with the server: one per core and one more, at least two (one may be busy
    on a slow event) and at most four (each holds its own copy of the handlers, about 100 MB with
    the embedding model loaded; the model's weights themselves are shared)."""
    return max(2, min(4, (os.cpu_count() or 1) + 1))


def warm_count(most: int) -> int:
    """The warm count a pool of at most ``most`` processes gets when none is asked for."""
    return min(max(most, 1), default_warm())


def default_size() -> int:
    """The most processes under load: four per core, at least the warm count, at most 16. A handler
    process spends most of each event waiting on DynamoDB (moto, in the server process) or on the
    index, so more processes than cores keep the cores busy while those calls are slow: on 2 cores,
    24 agents got 42 req/s through 3 processes, 49 through 5 and 60 through 8 (bench.load
    --server-workers 3,5,8, one run). Once the endpoint's per-call cost fell, the server process
    became the limit and 8 gained 0-6 % over 3; the pool grows only while every process is busy."""
    return max(default_warm(), min(16, 4 * (os.cpu_count() or 1)))


class WorkerStartError(Exception):
    pass


class _Worker:
    def __init__(self, number: int, process: subprocess.Popen[bytes], arrival: queue.Queue[Connection]) -> None:
        self.number = number
        self.process = process
        self.arrival = arrival  # its connection, once it has said hello
        self.connection: Connection | None = None
        self.idle_since = 0.0


class WorkerPool:
    """Between ``warm`` and ``size`` handler processes sharing the invocations sent to :meth:`invoke`."""

    def __init__(
        self,
        size: int,
        functions: Mapping[str, FunctionSpec],
        environ: Mapping[str, str],
        progress: Callable[[str], None] | None = None,
        warm: int | None = None,
    ) -> None:
        self.size = size
        self.warm = size if warm is None else warm
        if not 1 <= self.warm <= self.size:
            raise ValueError(f"the warm count ({self.warm}) must be from 1 to the size ({self.size})")
        self._functions = dict(functions)
        self._environ = dict(environ)
        self._progress = progress or (lambda _: None)
        self._key = secrets.token_bytes(32)
        self._listener: Listener | None = None
        self._arrivals: dict[int, queue.Queue[Connection]] = {}
        self._arrivals_lock = threading.Lock()
        self._numbers = itertools.count(1)
        # Idle processes, the most recently used last: it is the next one used, so under light
        # load the same few stay busy and the rest sit idle long enough to be retired.
        self._idle: list[_Worker] = []
        self._count = 0  # processes running or starting (guarded by _idle_changed)
        self._idle_changed = threading.Condition()
        self._workers: dict[int, _Worker] = {}
        self._workers_lock = threading.Lock()
        self._stopping = False
        self._stopped = threading.Event()
        self._warm_up = False
        self.replaced = 0
        self.started_under_load = 0  # cold starts: processes started because every one was busy
        self.retired = 0

    def configure(self, environ: Mapping[str, str], warm_up: bool) -> None:
        """The environment the processes start with, and whether each imports every handler and
        loads the embedding model before it is ready (else each handler is imported on its first
        event, as Lambda does on a cold start). Set once the runtime knows them, before :meth:`start`."""
        self._environ = dict(environ)
        self._warm_up = warm_up

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 300.0) -> None:
        """Start the warm processes and wait until each is ready: when warming up, once it has
        imported every handler and loaded the embedding model (if local mode uses one)."""
        # Every process connects at once: a backlog of one made the kernel drop connections it had
        # already acknowledged to the process, which then waited for the handshake for ever.
        self._listener = Listener(("127.0.0.1", 0), authkey=self._key, backlog=MAX_WORKERS)
        threading.Thread(target=self._accept, name="engram-local-workers", daemon=True).start()
        started = time.monotonic()
        with self._idle_changed:
            self._count = self.warm
        pending = [self._spawn() for _ in range(self.warm)]
        deadline = started + timeout
        for worker in pending:
            self._await_ready(worker, deadline)
            self._put_idle(worker)
        if self.size > self.warm:
            threading.Thread(target=self._retire_idle, name="engram-local-workers-retire", daemon=True).start()
        self._progress(f"{self.warm} handler processes ready in {time.monotonic() - started:.1f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Tell every worker to exit (each finishes the event it runs), then make sure they did."""
        self._stopping = True
        self._stopped.set()
        with self._workers_lock:
            workers = list(self._workers.values())
        for worker in workers:
            _tell_to_stop(worker)
        deadline = time.monotonic() + timeout
        for worker in workers:
            _reap(worker, deadline)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    @property
    def pids(self) -> list[int]:
        with self._workers_lock:
            return [worker.process.pid for worker in self._workers.values()]

    @property
    def running(self) -> int:
        """Processes running or starting now."""
        with self._idle_changed:
            return self._count

    # ---- invocations ------------------------------------------------------------------------

    def invoke(self, function_id: str, event: Any) -> Any:
        """Run one event on the next idle worker (waiting for one if all are busy)."""
        status, *reply = self._exchange(("invoke", function_id, json.dumps(event)))
        if status == "ok":
            return json.loads(reply[0])
        raise InvocationError(*reply)

    def invoke_authorized(
        self, authorizer_id: str, authorizer_event: Any, simple_responses: bool, function_id: str, event: Any
    ) -> Authorized:
        """Run a request's authorizer and then, if it allows the request, the route's function with
        the authorizer's context, one after the other in one worker: one round trip between the
        processes and one wait for an idle worker per request, not two."""
        message = ("authorized", authorizer_id, json.dumps(authorizer_event), simple_responses, function_id)
        return authorized_outcome(self._exchange((*message, json.dumps(event))))

    def _exchange(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        """Send one message to the next idle worker and return its answer."""
        worker = self._next_idle()
        try:
            assert worker.connection is not None
            worker.connection.send(message)
            reply: tuple[Any, ...] = worker.connection.recv()
        except (OSError, EOFError) as exc:
            code = worker.process.poll()
            self._replace(worker)
            raise InvocationError(
                "WorkerExited",
                f"the handler process (pid {worker.process.pid}) exited during the invocation"
                + ("" if code is None else f" (exit status {code})"),
                "",
            ) from exc
        self._put_idle(worker)
        return reply

    def _next_idle(self) -> _Worker:
        """An idle worker that is still alive (one that died while idle is replaced, not used).
        If every worker is busy and the pool is below its size, another is started (a cold start);
        the event then runs on whichever worker is free first, that one or one finishing its event."""
        while True:
            worker = self._take_idle()
            if worker.process.poll() is None:
                return worker
            self._replace(worker)

    def _take_idle(self) -> _Worker:
        deadline = time.monotonic() + IDLE_WAIT_SECONDS
        with self._idle_changed:
            if self._idle:
                return self._idle.pop()
            grow = not self._stopping and self._listener is not None and self._count < self.size
            if grow:
                self._count += 1
                self.started_under_load += 1
        if grow:
            self._start_in_background()
        with self._idle_changed:
            while not self._idle:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._idle_changed.wait(remaining):
                    if self._idle:
                        break
                    raise InvocationError(
                        "NoHandlerProcess", f"no handler process became free within {IDLE_WAIT_SECONDS:g}s", ""
                    )
            return self._idle.pop()

    def _put_idle(self, worker: _Worker) -> None:
        with self._idle_changed:
            worker.idle_since = time.monotonic()
            self._idle.append(worker)
            self._idle_changed.notify()

    def _retire_idle(self) -> None:
        """Every little while, stop the processes above the warm count that have been idle for
        :data:`RETIRE_IDLE_SECONDS` (the longest idle first)."""
        while not self._stopped.wait(_RETIRE_CHECK_SECONDS):
            self.retire_idle(RETIRE_IDLE_SECONDS)

    def retire_idle(self, idle_seconds: float) -> int:
        """Stop the processes above the warm count idle for at least ``idle_seconds``; how many."""
        now = time.monotonic()
        with self._idle_changed:
            surplus = self._count - self.warm
            retiring: list[_Worker] = []
            # The list is in the order the workers became idle: the longest idle come first.
            while surplus > 0 and self._idle and now - self._idle[0].idle_since >= idle_seconds:
                retiring.append(self._idle.pop(0))
                surplus -= 1
            self._count -= len(retiring)
            self.retired += len(retiring)
        for worker in retiring:
            _tell_to_stop(worker)
            _reap(worker, time.monotonic() + 10.0)
            with self._workers_lock:
                self._workers.pop(worker.number, None)
        return len(retiring)

    # ---- processes --------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        assert self._listener is not None
        number = next(self._numbers)
        host, port = self._listener.address
        environ = {
            **self._environ,
            ADDRESS_VARIABLE: f"{host}:{port}",
            KEY_VARIABLE: self._key.hex(),
            ID_VARIABLE: str(number),
        }
        arrival: queue.Queue[Connection] = queue.Queue()
        with self._arrivals_lock:
            self._arrivals[number] = arrival
        process = subprocess.Popen([sys.executable, "-m", "engram.local.workers"], env=environ)
        worker = _Worker(number, process, arrival)
        with self._workers_lock:
            self._workers[number] = worker
        return worker

    def _accept(self) -> None:
        while True:
            listener = self._listener
            if listener is None:
                return
            try:
                connection = no_delay(listener.accept())
                kind, number = connection.recv()
            except OSError:
                if self._listener is None:
                    return
                continue
            except Exception:  # a stranger without the key, or a worker that died at once
                log.debug("a handler process connection was refused", exc_info=True)
                continue
            with self._arrivals_lock:
                arrivals = self._arrivals.pop(int(number), None) if kind == "hello" else None
            if arrivals is None:
                connection.close()
            else:
                arrivals.put(connection)

    def _await_ready(self, worker: _Worker, deadline: float) -> None:
        while worker.connection is None:
            try:
                worker.connection = worker.arrival.get(timeout=0.1)
            except queue.Empty:
                self._check_alive(worker, deadline)
        connection = worker.connection
        connection.send(("functions", self._functions, self._warm_up))
        while not connection.poll(0.1):
            if worker.process.poll() is not None and connection.poll(0.1):
                break  # it said why before it exited
            self._check_alive(worker, deadline)
        try:
            status, *detail = connection.recv()
        except (OSError, EOFError) as exc:
            raise WorkerStartError(f"handler process {worker.number} exited while starting") from exc
        if status != "ready":
            worker.process.kill()
            raise WorkerStartError(f"handler process {worker.number} could not start: {detail[0]}")

    def _check_alive(self, worker: _Worker, deadline: float) -> None:
        code = worker.process.poll()
        if code is not None:
            raise WorkerStartError(f"handler process {worker.number} exited while starting (exit status {code})")
        if time.monotonic() > deadline:
            worker.process.kill()
            raise WorkerStartError(f"handler process {worker.number} did not start in time")

    def _replace(self, dead: _Worker) -> None:
        """Forget a worker that died and start another in the background."""
        with self._workers_lock:
            self._workers.pop(dead.number, None)
        if dead.process.poll() is None:
            dead.process.kill()
        dead.process.wait()
        if dead.connection is not None:
            dead.connection.close()
        if self._stopping:
            return
        self.replaced += 1
        log.warning("handler process %d (pid %d) exited; starting another", dead.number, dead.process.pid)
        self._start_in_background()

    def _start_in_background(self) -> None:
        """Start one process (already counted in ``_count``) and make it idle once it is ready."""

        def start_one() -> None:
            worker: _Worker | None = None
            try:
                worker = self._spawn()
                self._await_ready(worker, time.monotonic() + 300)
            except Exception:
                log.exception("could not start a handler process")
                if worker is not None:
                    with self._workers_lock:
                        self._workers.pop(worker.number, None)
                with self._idle_changed:
                    self._count -= 1
                return
            self._put_idle(worker)

        threading.Thread(target=start_one, name="engram-local-worker-start", daemon=True).start()


def _tell_to_stop(worker: _Worker) -> None:
    """Ask a worker to exit once it has finished the event it runs, if any."""
    if worker.connection is not None:
        with contextlib.suppress(OSError):
            worker.connection.send(("stop",))


def _reap(worker: _Worker, deadline: float) -> None:
    """Wait for a worker told to stop, killing it at ``deadline``."""
    try:
        worker.process.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()
    if worker.connection is not None:
        worker.connection.close()


class PooledFunction:
    """A template function whose invocations run in the worker pool (the ``Invokable`` the
    gateway, the stream pumps and the scheduler call)."""

    def __init__(self, spec: FunctionSpec, region: str, pool: WorkerPool) -> None:
        self.spec = spec
        self.region = region
        self._pool = pool

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.spec.function_name}"

    def invoke(self, event: Any) -> Any:
        return self._pool.invoke(self.spec.logical_id, event)

    def invoke_authorized(
        self, authorizer_id: str, authorizer_event: Any, simple_responses: bool, event: Any
    ) -> Authorized:
        """Run the authorizer ``authorizer_id`` and then, if it allows the request, this function with
        the authorizer's context in ``event``'s request context (see :meth:`WorkerPool.invoke_authorized`)."""
        return self._pool.invoke_authorized(
            authorizer_id, authorizer_event, simple_responses, self.spec.logical_id, event
        )

    def unload(self) -> None:
        pass


# --------------------------------------------------------------------------------------------
# The worker process


def warm_up_embedder(report: Callable[[str], None] | None) -> None:
    """Load the embedding model now rather than on the first request that embeds. If it cannot
    load, ``report`` is told (once is enough: every process would say the same) and requests that
    embed fail as they would have."""
    from engram.config import get_settings
    from engram.embed import EmbeddingError, get_embedder

    settings = get_settings()
    if settings.embedder != "local":
        return
    try:
        get_embedder(settings).embed(["warm-up"])
    except EmbeddingError as exc:
        if report is not None:
            report(f"warning: the embedding model did not load ({exc}); requests that embed will fail")


def _to_stderr(message: str) -> None:
    print(f"engram.local: {message}", file=sys.stderr, flush=True)


def worker_main() -> int:
    # Ctrl-C (or a SIGTERM to the whole process group) is the main process's to handle: it finishes
    # the requests in flight, then tells each worker to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with_parent()
    host, _, port = os.environ[ADDRESS_VARIABLE].rpartition(":")
    connection = no_delay(Client((host, int(port)), authkey=bytes.fromhex(os.environ[KEY_VARIABLE])))
    connection.send(("hello", int(os.environ[ID_VARIABLE])))
    lock = threading.Lock()
    try:
        install_dynamo_client(os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", ""))
        specs, warm_up = _receive_specs(connection)
        namespace = new_namespace()
        region = os.environ.get("AWS_REGION", "us-east-1")
        functions = {fid: LambdaFunction(spec, region, namespace, lock) for fid, spec in specs.items()}
        if warm_up:
            for function in functions.values():
                function.warm()
            warm_up_embedder(_to_stderr if os.environ[ID_VARIABLE] == "1" else None)
    except Exception as exc:  # noqa: BLE001 - reported to the main process, which refuses to start
        connection.send(("failed", f"{exc.__class__.__name__}: {exc}"))
        return 1
    connection.send(("ready",))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return 0  # the main process is gone
        if message[0] == "stop":
            return 0
        reply: tuple[Any, ...]
        if message[0] == "authorized":
            reply = run_authorized(functions, *message[1:])
        else:
            _, function_id, payload = message
            try:
                reply = ("ok", functions[function_id].invoke_decoded(json.loads(payload)))
            except Exception as exc:  # noqa: BLE001 - the handler's failure is the invocation's result
                reply = _failure(exc)
        try:
            connection.send(reply)
        except (EOFError, OSError):
            return 0


def _failure(exc: Exception) -> tuple[str, str, str, str]:
    return ("error", exc.__class__.__name__, str(exc), traceback.format_exc())


def run_authorized(
    functions: Mapping[str, LambdaFunction],
    authorizer_id: str,
    authorizer_payload: str,
    simple_responses: bool,
    function_id: str,
    payload: str,
) -> tuple[Any, ...]:
    """In a handler process: the authorizer, then (if it allows the request) the function with the
    authorizer's context, as API Gateway runs them; the reply :func:`authorized_outcome` reads."""
    try:
        verdict = functions[authorizer_id].invoke_decoded(json.loads(authorizer_payload))
    except Exception as exc:  # noqa: BLE001 - the authorizer's failure is the request's result
        return ("authorizer_error", *_failure(exc)[1:])
    allowed, context = authorizer_verdict(simple_responses, json.loads(verdict))
    if not allowed:
        return ("denied", verdict)
    event = json.loads(payload)
    event["requestContext"]["authorizer"] = {"lambda": context}
    started = time.monotonic()
    try:
        result = functions[function_id].invoke_decoded(event)
    except Exception as exc:  # noqa: BLE001 - the handler's failure is the invocation's result
        return _failure(exc)
    return ("ok", result, time.monotonic() - started)


def authorized_outcome(reply: tuple[Any, ...]) -> Authorized:
    """What :func:`run_authorized`'s reply says (raises what failed)."""
    status, *rest = reply
    if status == "ok":
        return Authorized(allowed=True, result=json.loads(rest[0]), seconds=rest[1])
    if status == "denied":
        return Authorized(allowed=False, authorizer_result=json.loads(rest[0]))
    if status == "authorizer_error":
        raise AuthorizerInvocationError(*rest)
    raise InvocationError(*rest)


def _receive_specs(connection: Connection) -> tuple[dict[str, FunctionSpec], bool]:
    message = connection.recv()
    if message[0] != "functions":
        raise RuntimeError(f"unexpected first message {message[0]!r}")
    specs: dict[str, FunctionSpec] = message[1]
    return specs, bool(message[2])


def exit_without_teardown(code: int) -> NoReturn:
    """End the process once everything is saved, skipping the interpreter's teardown: its garbage
    collection over moto's, botocore's and the handlers' objects took seconds on every stop."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_without_teardown(worker_main())
