"""Schemathesis hooks for the Engram run (loaded with ``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

- ``engram_error_shape``: every answer is JSON, and every 4xx/5xx is exactly Engram's error shape.
- Real ids: ``{id}`` is drawn from {generated value, live session ids and keys, live memory ids}, so
  operations on an id reach their handler instead of answering 404 to every random string. Ids that
  a case ended, closed or deleted are replaced by fresh ones.
- Real cursors: a cursor is an opaque token the server issues and checks (anything else is a 400),
  so no generator can produce a valid one. In positive mode a generated ``cursor`` is replaced by the
  ``next_cursor`` of the same query (or dropped when that query has a single page); negative mode
  keeps the generated one, which the server must refuse.

The server's address and key come from ``ENGRAM_FUZZ_URL`` and ``ENGRAM_FUZZ_KEY``; each answer's
operation and status are appended to ``ENGRAM_FUZZ_STATUS_LOG`` when it is set.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

import hypothesis.strategies as st
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure

from tests.fuzz.resources import live
from tests.fuzz.shape import error_shape_problem


@schemathesis.check
def engram_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    content_type = ",".join(response.headers.get("content-type", []))
    problem = error_shape_problem(response.status_code, content_type, response.content, case.operation.path)
    if problem:
        raise Failure(operation=case.operation.label, title="Not in Engram's error shape", message=problem)
    return None


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    if not path_parameters or "id" not in path_parameters or context.operation is None:
        return st.just(path_parameters)
    real = [{**path_parameters, "id": ref} for ref in live().choices(context.operation.path)]
    return st.sampled_from([path_parameters, *real, *real])  # real ids twice as likely as generated ones


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    query = case.query or {}
    if "cursor" in query and case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE:
        cursor = live().cursor_for(case.formatted_path, query)
        if cursor:
            query["cursor"] = cursor
        else:
            query.pop("cursor")
    return case


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    log = os.environ.get("ENGRAM_FUZZ_STATUS_LOG")
    if log:  # one line per answer, for the runner's per-operation status table
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{case.operation.label}\t{response.status_code}\n")
    ref = (case.path_parameters or {}).get("id")
    if ref is None or response.status_code >= 300:
        return
    ref = unquote(str(ref))  # schemathesis percent-encodes path parameters in place when it sends
    method, path = case.method.upper(), case.operation.path
    if (method == "DELETE" and not path.endswith("/lock")) or path.endswith(("/end", "/close")):
        live().spent(path, str(ref))
