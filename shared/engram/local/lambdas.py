"""Running the template's Lambda handlers in a process, the way one Lambda container would.

A process is one *execution environment* per function: its own copy of the function's ``app.py``
(every handler file is called ``app.py``, so each is imported from its path under a unique module
name), invoked **one event at a time**. Lambda never runs two invocations in one container at once,
and handler code relies on it: Powertools keeps the current event on module-level objects and the
logger's Lambda context (function name, request id) is process-wide. Concurrency comes from more
processes (:mod:`engram.local.workers`), as on Lambda from more containers.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from engram.local.template import ACCOUNT_ID, FunctionSpec

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


class InvocationError(Exception):
    """A handler failed in another process: its exception's type name, message and traceback."""

    def __init__(self, kind: str, message: str, remote_traceback: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.remote_traceback = remote_traceback


class AuthorizerInvocationError(InvocationError):
    """The authorizer failed in a request that was to run it and then the route's function."""


@dataclass
class Authorized:
    """What an authorizer and then, if it allowed the request, the route's function returned when
    both ran in one handler process (:meth:`engram.local.workers.PooledFunction.invoke_authorized`)."""

    allowed: bool
    authorizer_result: Any = None  # when not allowed: what the authorizer returned
    result: Any = None  # when allowed: what the function returned
    seconds: float = 0.0  # how long the function ran


def authorizer_verdict(simple_responses: bool, result: Any) -> tuple[bool | None, dict[str, Any]]:
    """Whether an HTTP API Lambda authorizer's response allows the request (None: the response is
    unusable, API Gateway answers 500) and the context it hands the function."""
    if not isinstance(result, dict):
        return None, {}
    context = result.get("context") or {}
    if not isinstance(context, dict):
        return None, {}
    if simple_responses:
        allowed = result.get("isAuthorized")
        return (allowed if isinstance(allowed, bool) else None), context
    statements = (result.get("policyDocument") or {}).get("Statement") or []
    effects = {str(s.get("Effect", "")).lower() for s in statements if isinstance(s, dict)}
    if not effects:
        return None, {}
    return ("allow" in effects and "deny" not in effects), context


def describe_failure(exc: BaseException) -> str:
    """``Type: message`` of a handler's failure, wherever the handler ran."""
    kind = exc.kind if isinstance(exc, InvocationError) else exc.__class__.__name__
    return f"{kind}: {exc}"


def failure_traceback(exc: BaseException) -> str:
    if isinstance(exc, InvocationError):
        return exc.remote_traceback.rstrip()
    return "".join(traceback.format_exception(exc)).rstrip()


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
    """One template function in this process: imports its handler once, lazily, and invokes it.

    ``lock`` is shared by every function of the process: one invocation at a time.
    """

    def __init__(self, spec: FunctionSpec, region: str, namespace: str, lock: threading.Lock | None = None) -> None:
        self.spec = spec
        self.region = region
        self._namespace = namespace
        self._lock = lock or threading.Lock()
        self._environment: _Environment | None = None
        self._module_names: list[str] = []

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.spec.function_name}"

    def invoke(self, event: Any) -> Any:
        """Call the handler with a JSON round trip of ``event``, as Lambda delivers it.

        Raises whatever the handler raises. The result is returned after its own JSON round
        trip, so a response Lambda could not serialise fails here as it would on AWS.
        """
        return json.loads(self.invoke_decoded(json.loads(json.dumps(event))))

    def invoke_decoded(self, event: Any) -> str:
        """:meth:`invoke` for an event just decoded from JSON (from another process; nothing else
        holds it), answering JSON text: the round trips of :meth:`invoke` would decode and encode
        each twice more."""
        with self._lock:
            environment = self._load()
            result = environment.handler(event, self._context(environment))
        return json.dumps(result)

    def warm(self) -> None:
        """Import the handler now (so a broken handler is reported at start-up)."""
        with self._lock:
            self._load()

    def unload(self) -> None:
        with self._lock:
            for name in self._module_names:
                sys.modules.pop(name, None)
            self._module_names.clear()
            self._environment = None

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

    def _load(self) -> _Environment:
        """The function's environment, imported on first use (a cold start). Caller holds the lock."""
        if self._environment is not None:
            return self._environment
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
        self._module_names.append(module_name)
        self._environment = _Environment(module, handler)
        return self._environment


def new_namespace() -> str:
    """A module-name prefix unique to one runtime, so two runtimes never share handler state."""
    return f"engram_local_functions_{next(_runtime_ids)}"
