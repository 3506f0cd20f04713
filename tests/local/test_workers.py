"""Handler processes: concurrent events go to several processes, each running one at a time; a
process that dies fails its event and is replaced; the processes share one index; stop ends them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engram.index import IndexDoc, IndexFilters, IndexUnavailable
from engram.index.local import LocalIndex
from engram.index.remote import RemoteIndex
from engram.local.runtime import LocalRuntime, LocalRuntimeError
from engram.local.shared_index import IndexServer
from tests.local.helpers import FIXTURE_TEMPLATE, call, read_jsonl, wait_for


@pytest.fixture
def pooled(tmp_path: Path, logs: dict[str, Path]) -> Iterator[LocalRuntime]:
    local = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", port=0, workers=2).start()
    try:
        yield local
    finally:
        local.stop()


def test_concurrent_events_run_in_several_processes_one_at_a_time_each(pooled: LocalRuntime) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: call(pooled.port, "GET", "/public?mode=slow"), range(16)))
    assert {r.status for r in replies} == {200}
    bodies = [r.json() for r in replies]
    assert os.getpid() not in {b["pid"] for b in bodies}  # not run by the server process
    assert {b["pid"] for b in bodies} == set(pooled.pool.pids)  # both processes took events
    assert max(b["most_at_once"] for b in bodies) == 1  # never two events in one process


def test_writes_from_the_processes_reach_the_journal_and_the_stream(
    pooled: LocalRuntime, logs: dict[str, Path]
) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda n: call(pooled.port, "PUT", f"/items/p{n}", body="{}").status, range(12)))
    assert statuses == [200] * 12
    assert pooled.pump is not None and pooled.pump.drain(20)
    assert {r["dynamodb"]["Keys"]["pk"]["S"] for r in read_jsonl(logs["stream"])} == {f"p{n}" for n in range(12)}
    (journal,) = (pooled.data_dir / "dynamodb").glob("journal-*.jsonl")
    assert journal.read_text().count('"op": "PutItem"') >= 12


def test_a_process_that_dies_fails_its_event_and_is_replaced(pooled: LocalRuntime) -> None:
    assert pooled.pool is not None
    before = set(pooled.pool.pids)
    died = call(pooled.port, "GET", "/public?mode=exit")
    assert died.status == 500
    wait_for(lambda: len(pooled.pool.pids) == 2 and pooled.pool.replaced == 1, 60)  # type: ignore[union-attr]
    assert set(pooled.pool.pids) != before
    replies = [call(pooled.port, "GET", "/public?mode=slow") for _ in range(4)]
    assert {r.status for r in replies} == {200}


def test_stop_ends_the_processes(tmp_path: Path, logs: dict[str, Path]) -> None:
    local = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", port=0, workers=2).start()
    assert local.pool is not None
    processes = list(local.pool._workers.values())
    assert call(local.port, "GET", "/public?mode=slow").status == 200
    local.stop()
    assert all(worker.process.poll() is not None for worker in processes)


def test_a_busy_pool_starts_processes_up_to_its_size_and_retires_them_when_idle(
    tmp_path: Path, logs: dict[str, Path]
) -> None:
    # As Lambda scales out: one warm process; while every process is busy an event starts another,
    # never more than the size; the ones above the warm count are stopped once idle long enough.
    local = LocalRuntime(FIXTURE_TEMPLATE, tmp_path / "data", port=0, workers=3, warm_workers=1).start()
    try:
        pool = local.pool
        assert pool is not None and pool.running == 1 and len(pool.pids) == 1
        with ThreadPoolExecutor(max_workers=10) as threads:
            replies = list(threads.map(lambda _: call(local.port, "GET", "/public?mode=slow"), range(30)))
        assert {r.status for r in replies} == {200}
        assert max(r.json()["most_at_once"] for r in replies) == 1  # still one event at a time each
        assert pool.running == 3 and pool.started_under_load == 2  # grew to the size, no further
        wait_for(lambda: len(pool._idle) == 3, 60)
        before = dict(pool._workers)
        assert pool.retire_idle(3600) == 0  # none idle that long
        assert pool.retire_idle(0) == 2 and pool.running == 1 and pool.retired == 2
        (kept,) = pool._workers
        assert all(worker.process.poll() is not None for number, worker in before.items() if number != kept)
        assert before[kept].process.poll() is None and pool.pids == [before[kept].process.pid]
        assert call(local.port, "GET", "/public?mode=slow").status == 200  # the one kept still serves
    finally:
        local.stop()


def test_a_handler_process_still_starting_exits_when_the_server_is_killed(tmp_path: Path) -> None:
    # A handler process ignores SIGTERM (the server stops it in order) and learns that the server
    # is gone when its connection closes, but one still importing the handlers reads nothing: it
    # must not outlive a server that was killed. Nor must DynamoDB's process, which ignores
    # SIGTERM too.
    import signal
    import subprocess
    import sys
    import time

    from tests.local.helpers import REPO

    hold = tmp_path / "hold"
    hold.touch()  # the echo handler's import waits while this exists
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "engram.local", "--template", str(FIXTURE_TEMPLATE)),
            *("--data-dir", str(tmp_path / "data"), "--port", "0", "--workers", "2"),
        ],
        cwd=REPO,
        env={**os.environ, "ENGRAM_EMBEDDER": "hashing", "FIXTURE_IMPORT_HOLD": str(hold)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        children: list[int] = []
        while len(children) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(int(p)) == process.pid]
        modules = sorted(_module_of(pid) for pid in children)
        # DynamoDB's process and both handler processes started, neither handler process ready
        assert modules == ["engram.local.dynamo_process", "engram.local.workers", "engram.local.workers"]
        assert process.poll() is None
        time.sleep(1.0)  # into the import
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        hold.unlink()
        if process.poll() is None:
            process.kill()


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _module_of(pid: int) -> str:
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return arguments[arguments.index(b"-m") + 1].decode()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _doc(memory_id: str, text: str, vector: list[float], version: int = 1) -> IndexDoc:
    return IndexDoc(
        tenant_id="t1",
        memory_id=memory_id,
        namespace="default",
        type="fact",
        tier="medium",
        title="",
        text=text,
        embedding=vector,
        version=version,
    )


def test_remote_index_answers_as_the_index_it_serves(tmp_path: Path) -> None:
    index = LocalIndex(str(tmp_path))
    key = os.urandom(32)
    server = IndexServer(index, key)
    server.start()
    remote = RemoteIndex(server.address, key.hex())
    try:
        docs = [
            _doc("m1", "deploys on tuesday", [1.0, 0.0, 0.0]),
            _doc("m2", "coffee every morning", [0.0, 1.0, 0.0]),
            _doc("m3", "tuesday standup", [0.6, 0.8, 0.0]),
        ]
        assert remote.upsert(docs) == {"m1": "indexed", "m2": "indexed", "m3": "indexed"}
        assert remote.upsert([_doc("m1", "old", [0.0, 0.0, 1.0], version=1)]) == {"m1": "stale"}
        direct = index.knn("t1", [1.0, 0.0, 0.0], 2)
        assert [(h.memory_id, h.score) for h in remote.knn("t1", [1.0, 0.0, 0.0], 2)] == [
            (h.memory_id, h.score) for h in direct
        ]
        assert [h.memory_id for h in remote.text_search("t1", "tuesday", 5)] == [
            h.memory_id for h in index.text_search("t1", "tuesday", 5)
        ]
        assert remote.knn("t1", [1.0, 0.0, 0.0], 5, IndexFilters(ids=("m2",)))[0].memory_id == "m2"
        hit = remote.get("t1", "m2")
        assert hit is not None and hit.embedding == [0.0, 1.0, 0.0]
        assert remote.get("other-tenant", "m2") is None
        assert remote.count("t1") == 3 and remote.version_of("m1") == 1
        assert remote.delete("t1", ["m3"]) == 1 and index.count("t1") == 2  # it is the same index
        with pytest.raises(ValueError):  # the index's own error keeps its type
            remote.knn("t1", [1.0, 0.0], 1)
        remote.clear("t1")
        assert index.count("t1") == 0
    finally:
        remote.close()
        server.stop()
        index.close()


def test_remote_index_without_the_key_or_the_server_is_unavailable(tmp_path: Path) -> None:
    index = LocalIndex(str(tmp_path))
    server = IndexServer(index, os.urandom(32))
    server.start()
    try:
        with pytest.raises(IndexUnavailable):
            RemoteIndex(server.address, os.urandom(32).hex()).count("t1")
    finally:
        server.stop()
        index.close()
    with pytest.raises(IndexUnavailable):
        RemoteIndex(server.address, os.urandom(32).hex()).count("t1")


def test_the_index_is_served_to_other_processes_through_the_runtime_file(runtime: LocalRuntime) -> None:
    import json

    env = json.loads((runtime.data_dir / "runtime.json").read_text())["env"]
    remote = RemoteIndex(env["ENGRAM_LOCAL_INDEX_ADDRESS"], env["ENGRAM_LOCAL_INDEX_KEY"])
    try:
        assert remote.upsert([_doc("m1", "served", [1.0, 0.0, 0.0])]) == {"m1": "indexed"}
        from engram.config import get_settings
        from engram.index import get_index

        assert get_index(get_settings()).count("t1") == 1  # the runtime's own index holds it
    finally:
        remote.close()


@pytest.mark.e2e
def test_a_sigterm_to_the_whole_process_group_still_stops_in_order(
    tmp_path: Path, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.local.helpers import REPO

    hold = tmp_path / "hold"
    hold.touch()
    monkeypatch.setenv("FIXTURE_STREAM_HOLD", str(hold))  # stream work is in flight at the signal
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "engram.local", "--template", str(FIXTURE_TEMPLATE)),
            *("--data-dir", str(tmp_path / "data"), "--port", "0", "--workers", "2"),
        ],
        cwd=REPO,
        env={**os.environ, "ENGRAM_EMBEDDER": "hashing"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal or a service manager gives it
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        output.append(line)
        if "Engram is running" in line:
            port = int(line.rsplit(":", 1)[1])
            break
    assert call(port, "PUT", "/items/in-flight", body="{}").status == 200
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGTERM)  # the server and its handler processes at once
    time.sleep(1.0)
    hold.unlink()  # the held batch may now finish: its process must still be there to finish it
    rest, _ = process.communicate(timeout=120)
    text = "".join(output) + rest
    assert process.returncode == 0, text
    assert "exited during the invocation" not in text and "WorkerExited" not in text, text
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_jsonl(logs["stream"])] == ["in-flight"]
    assert "handler processes stopped" in text and "DynamoDB snapshot written" in text


def _with_a_broken_handler(tmp_path: Path) -> Path:
    """The fixture template, with ItemsFunction's handler failing on import."""
    root = tmp_path / "template"
    shutil.copytree(FIXTURE_TEMPLATE.parent, root)
    (root / "functions" / "items" / "app.py").write_text("raise RuntimeError('broken on purpose')\n")
    return root / "template.yaml"


def test_a_warmed_up_start_refuses_a_handler_that_cannot_be_imported(tmp_path: Path, logs: dict[str, Path]) -> None:
    # `python -m engram.local` without --lazy: every handler is imported before the API answers.
    local = LocalRuntime(_with_a_broken_handler(tmp_path), tmp_path / "data", port=0, workers=1, warm_up=True)
    with pytest.raises(LocalRuntimeError) as refused:
        local.start()
    assert "ItemsFunction" in str(refused.value) and "broken on purpose" in str(refused.value)


def test_a_lazy_start_imports_each_handler_on_its_first_event(tmp_path: Path, logs: dict[str, Path]) -> None:
    # --lazy (and LocalServer in tests): as Lambda's cold start, a handler is imported by its first
    # event, so the broken one fails only its own requests.
    local = LocalRuntime(_with_a_broken_handler(tmp_path), tmp_path / "data", port=0, workers=1).start()
    try:
        assert call(local.port, "GET", "/public").status == 200
        failed = call(local.port, "GET", "/items/one")
        assert failed.status == 500 and failed.json() == {"message": "Internal Server Error"}
        assert call(local.port, "GET", "/public").status == 200
    finally:
        local.stop()
