"""The MCP SDK is the heaviest import of any function: only functions/mcp may load it, so no other
function's cold start pays for it; and no function needs the SDK (engram_client), which is not in
the Lambda layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONLY_FOR_MCP = ("mcp", "mangum", "starlette", "sse_starlette", "uvicorn")
NEVER = ("engram_client",)

PROBE = """
import importlib.util, pathlib, sys
only_mcp, never = {only_mcp!r}, {never!r}
class Block:
    def __init__(self, names): self.names = names
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in self.names):
            raise ImportError(f"{{name}} must not be imported here")
# functions/mcp last: what it loads must not already be there when the others are checked
for app in sorted(pathlib.Path("functions").glob("*/app.py"), key=lambda p: (p.parent.name == "mcp", p)):
    blocker = Block(never if app.parent.name == "mcp" else only_mcp + never)
    sys.meta_path.insert(0, blocker)
    spec = importlib.util.spec_from_file_location("fn_" + app.parent.name, app)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    sys.meta_path.remove(blocker)
    loaded = [m for m in sys.modules if m.split(".")[0] in only_mcp]
    assert bool(loaded) == (app.parent.name == "mcp"), (app, loaded[:3])
print("ok")
"""


def test_only_the_mcp_function_loads_the_mcp_sdk() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(only_mcp=ONLY_FOR_MCP, never=NEVER)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "ENGRAM_INDEX_BACKEND": "opensearch"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
