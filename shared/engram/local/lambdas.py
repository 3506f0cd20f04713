"""Running the template's Lambda handlers in this process, the way Lambda would.

Each function gets a pool of *execution environments*: a separately imported copy of its
``app.py``. Lambda never runs two invocations in one environment at once, and handler modules
rely on that (Powertools resolvers keep the current event on a module-level object), so a
concurrent request takes an idle environment or imports a fresh one (a cold start) rather
than sharing. Every handler file is called ``app.py``, so each copy is imported from its path
under a unique module name.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from engram.local.template import ACCOUNT_ID, FunctionSpec

# How many environments one function may have at once (Lambda's concurrency, scaled to a laptop).
MAX_ENVIRONMENTS = 8

_runtime_ids = itertools.count(1)

Handler = Callable[[Any, Any], Any]


class Invokable(Protocol):
    """What the gateway, the stream pumps and the scheduler invoke: a function, wherever it runs."""

    spec: FunctionSpec

    @property
    def arn(self) -> str: ...

    def invoke(self, event: Any) -> Any: ...


class HandlerLoadError(Exception):
    """The handler file is missing, fails to import, or lacks the handler function."""


@dataclass
class LambdaContext:
    """The fields of Lambda's context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_epoch: float
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_epoch - time.time()) * 1000))


class _Environment:
    def __init__(self, module: ModuleType, handler: Handler) -> None:
        self.module = module
        self.handler = handler
        self.log_stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"


class LambdaFunction:
    """One template function: imports its handler lazily and invokes it."""

    def __init__(self, spec: FunctionSpec, region: str, namespace: str) -> None:
        self.spec = spec
        self.region = region
        self._namespace = namespace
        self._idle: list[_Environment] = []
        self._count = 0
        self._cond = threading.Condition()
        self._module_names: list[str] = []

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.spec.function_name}"

    def invoke(self, event: Any) -> Any:
        """Call the handler with a JSON round trip of ``event``, as Lambda delivers it.

        Raises whatever the handler raises. The result is returned after its own JSON round
        trip, so a response Lambda could not serialise fails here as it would on AWS.
        """
        payload = json.loads(json.dumps(event))
        with self._environment() as environment:
            context = self._context(environment)
            result = environment.handler(payload, context)
        return json.loads(json.dumps(result))

    def warm(self) -> None:
        """Import the handler now (so a broken handler is reported at start-up)."""
        with self._environment():
            pass

    def unload(self) -> None:
        with self._cond:
            for name in self._module_names:
                sys.modules.pop(name, None)
            self._module_names.clear()
            self._idle.clear()
            self._count = 0

    def _context(self, environment: _Environment) -> LambdaContext:
        name = self.spec.function_name
        return LambdaContext(
            function_name=name,
            function_version="$LATEST",
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.spec.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name=environment.log_stream,
            deadline_epoch=time.time() + self.spec.timeout_seconds,
        )

    @contextmanager
    def _environment(self) -> Iterator[_Environment]:
        environment = self._acquire()
        try:
            yield environment
        finally:
            with self._cond:
                self._idle.append(environment)
                self._cond.notify()

    def _acquire(self) -> _Environment:
        with self._cond:
            while not self._idle and self._count >= MAX_ENVIRONMENTS:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return self._load()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _load(self) -> _Environment:
        path = self.spec.handler_file
        if not path.is_file():
            raise HandlerLoadError(f"{self.spec.logical_id}: handler file {path} does not exist")
        module_name = f"{self._namespace}.{self.spec.logical_id}_{next(_runtime_ids)}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise HandlerLoadError(f"{self.spec.logical_id}: cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        # Registered before execution: pydantic and dataclasses look their module up by name.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise HandlerLoadError(f"{self.spec.logical_id}: importing {path} failed: {exc!r}") from exc
        handler = getattr(module, self.spec.handler_attribute, None)
        if not callable(handler):
            sys.modules.pop(module_name, None)
            raise HandlerLoadError(f"{self.spec.logical_id}: {path} has no function {self.spec.handler_attribute}")
        with self._cond:
            self._module_names.append(module_name)
        return _Environment(module, handler)


def new_namespace() -> str:
    """A module-name prefix unique to one runtime, so two runtimes never share handler state."""
    return f"engram_local_functions_{next(_runtime_ids)}"
