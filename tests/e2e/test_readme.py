"""README.md's shell examples run verbatim: every ```bash/```sh block, in order, as one script
(``set -euo pipefail``) against a fresh local server. A command's non-zero exit fails the test, and
curl's ``--fail-with-body`` makes an HTTP error one; the server's own log is checked too, so an error
a client swallowed (a retried 429, a 5xx) fails as well unless the README shows it on purpose.
A block that cannot run here says why on the line above it: ``<!-- readme-test: skip, REASON -->``."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from engram.testing.server import ROOT, LocalServer

pytestmark = pytest.mark.e2e

README = ROOT / "README.md"
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[\w-]*)\s*$")
SKIP = re.compile(r"^\s*<!-- readme-test: skip(?:, (?P<reason>.+?))? -->\s*$")
SHELLS = {"bash", "sh"}
PLACEHOLDER = re.compile(r"…|<(?:the |your )[^>]*>|\b(?:mem|sess)_\.\.\.")
CURL = re.compile(r"(?:^|[;&|(]|\$\()\s*curl\s")
FAILS = re.compile(r'"\$\{auth\[@\]\}"|\s(?:-f|--fail|--fail-with-body)\b')
# The HTTP errors the README's commands meet on purpose, as (method, path pattern, status):
SHOWN = ("GET", r"/v1/memories/mem_01JBZ8Q7X4N5M6P7Q8R9S0T1V2", 404)  # the SDK example's NotFound
EXPECTED_ERRORS = [
    SHOWN,
    # `engram import` into another tenant first asks whether that tenant has each session (a restore)
    ("GET", r"/v1/sessions/sess_[0-9A-Z]{26}", 404),
]
ACCESS = re.compile(r"^(?P<method>[A-Z]+) (?P<path>/[^ ?]*)\S* (?P<status>\d{3}) \d+ms$", re.M)


@dataclass(frozen=True)
class Block:
    line: int  # where its opening fence is, 1-based
    info: str
    body: str
    skip: str | None  # the reason it is not run, or None


def blocks(text: str) -> list[Block]:
    """Every fenced block (nested in a list item or not), in order, with the skip note above it."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, start = opening["indent"], i
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        assert j < len(lines), f"README.md:{start + 1}: a fence that never closes"
        body = "\n".join(line.removeprefix(indent) for line in lines[start + 1 : j])
        above = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        note = SKIP.match(above)
        reason = None if note is None else (note["reason"] or "")
        found.append(Block(start + 1, opening["info"], body, reason))
        i = j + 1
    return found


def test_blocks_are_found_and_parsed() -> None:
    sample = "x\n<!-- readme-test: skip, needs AWS -->\n```bash\naws s3 ls\n```\n- item\n\n  ```sh\n  echo hi\n  ```\n"
    assert blocks(sample) == [Block(3, "bash", "aws s3 ls", "needs AWS"), Block(8, "sh", "echo hi", None)]


def shell_blocks() -> list[Block]:
    return [b for b in blocks(README.read_text(encoding="utf-8")) if b.info in SHELLS]


def test_the_readme_can_run_as_written() -> None:
    """No placeholder to edit, every curl fails on an HTTP error, every skipped block says why."""
    found = shell_blocks()
    runnable = [b for b in found if b.skip is None]
    assert len(runnable) >= 5, "the README's walkthroughs are gone"
    for block in found:
        assert block.skip is None or block.skip.strip(), f"README.md:{block.line}: a skip without a reason"
    for block in runnable:
        for offset, line in enumerate(block.body.splitlines(), start=1):
            where = f"README.md:{block.line + offset}: {line.strip()}"
            code = re.split(r"(?:^|\s)#", line, maxsplit=1)[0]  # a comment may say "…"
            assert not PLACEHOLDER.search(code), f"{where}: a placeholder the reader would have to edit"
            if CURL.search(code):
                assert FAILS.search(code), f"{where}: this curl does not fail on an HTTP error"
    definition = next((b.body for b in runnable if re.search(r"^auth=\(", b.body, re.M)), "")
    assert re.search(r"^auth=\(--fail-with-body ", definition, re.M), "auth must carry --fail-with-body"


def mirror(into: Path) -> Path:
    """A directory that looks like the repository (its entries symlinked) so the README's relative
    paths (.venv/bin/engram, clients/samples/…) work while the files it writes land elsewhere."""
    into.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {".engram", ".git", "backup.ndjson"}:
            (into / entry.name).symlink_to(entry)
    return into


def expected(error: tuple[str, str, int], allowed: tuple[str, str, int]) -> bool:
    return error[0] == allowed[0] and re.fullmatch(allowed[1], error[1]) is not None and error[2] == allowed[2]


def test_readme_walkthroughs_run_top_to_bottom(tmp_path: Path) -> None:
    runnable = [b for b in shell_blocks() if b.skip is None]
    script = ["set -euo pipefail", 'PS4="+ README.md: "']
    for block in runnable:
        script += [f"# README.md:{block.line}", block.body]
    (tmp_path / "readme.sh").write_text("\n".join(script) + "\n", encoding="utf-8")
    # A script sends the walkthroughs' ~60 requests faster than a person at a terminal: on a fast
    # machine that crosses the default 60/minute per address, so the limit is raised here (the
    # rate limiter has its own tests in tests/abuse).
    server = LocalServer(
        tmp_path / "data",
        "egm_readme_walkthrough_server_key_0123",
        env={"ENGRAM_RATE_LIMIT_PER_MINUTE": "6000"},
        quiet=False,
    ).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGRAM_", "AWS_ENDPOINT_URL"))}
        env |= {"PORT": str(server.port), "ENGRAM_DATA_DIR": str(server.data_dir), "PYTHONUNBUFFERED": "1"}
        run = subprocess.run(
            ["bash", "-x", str(tmp_path / "readme.sh")],
            cwd=mirror(tmp_path / "repo"),
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        server.stop()
    output = (run.stdout + "\n" + run.stderr)[-6000:]
    assert run.returncode == 0, f"the README's shell examples failed (exit {run.returncode}):\n{output}"
    log = server.log.read_text(encoding="utf-8", errors="replace")
    served = [(m["method"], m["path"], int(m["status"])) for m in ACCESS.finditer(log)]
    assert len(served) >= 30, f"the server's access log shows too few requests:\n{log[-3000:]}"
    errors = {s for s in served if s[2] >= 400}
    unexpected = {e for e in errors if not any(expected(e, allowed) for allowed in EXPECTED_ERRORS)}
    assert not unexpected, f"HTTP errors the README does not expect: {sorted(unexpected)}"
    assert any(expected(e, SHOWN) for e in errors), "the SDK example's 404 is missing: is the log read at all?"
    assert (tmp_path / "repo" / "backup.ndjson").stat().st_size > 0  # written where the README ran
