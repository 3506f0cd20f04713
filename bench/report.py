"""One Markdown report from every ``bench/results/*.json``: ``bench/results/REPORT.md`` + PNG charts.

    python -m bench.report [--results bench/results]

Each benchmark's section says when it ran and on what machine (from its JSON when it records it,
else the file's time and this machine), shows the baselines it measures beside its own numbers,
and a chart where one helps. A missing result is a note, not an error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KNOWN = {
    "load": "make bench-load",
    "retrieval": "make bench-retrieval",
    "intelligence": "make bench-intelligence",
    "coldstart": "make bench-coldstart",
}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def describe(m: dict[str, Any]) -> str:
    return f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, Python {m.get('python', '?')}"


def provenance(name: str, data: dict[str, Any], path: Path, here: dict[str, Any]) -> str:
    when = data.get("date") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(path.stat().st_mtime)) + " (file time)"
    m = data.get("machine")
    if not isinstance(m, dict):
        m = dict(here)
        if data.get("python"):
            m["python"] = data["python"]
        if data.get("cpus"):
            m["cores"] = data["cpus"]
        where = describe(m) + " (this machine)"
    else:
        where = describe(m)
    return f"_Ran {when} on {where}. Source: `{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}`._"


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "-" if value is None else str(value)


# --- sections ----------------------------------------------------------------------------------


def section_load(data: dict[str, Any], out: Path) -> list[str]:
    from bench import _plots

    lines = ["## Load (`bench/load.py`)", ""]
    cfg = data.get("config", {})
    lines.append(
        f"{cfg.get('workers')} concurrent simulated agents for {cfg.get('duration_s')} s against the local server "
        f"(`python -m engram.local`, hashing embedder, moto DynamoDB with its journal, local index). Every "
        "acknowledged write is then verified, counted, not sampled. The baseline beside each route is the same "
        "DynamoDB work done directly with boto3 on the same moto endpoint (route storage calls counted in-process x "
        "the idle direct-call p50): the difference is the server's own overhead."
    )
    lines += ["", data.get("markdown", "(no table)"), ""]
    calls = data.get("storage_calls", {})
    if calls.get("routes"):
        lines += ["Storage calls per request (handler + authorizer), by operation:", ""]
        lines += ["| route | handler calls | authorizer calls | by operation |", "|---|---:|---:|---|"]
        for route, row in calls["routes"].items():
            ops = ", ".join(f"{op} {n:g}" for op, n in row["by_operation"].items())
            lines.append(f"| `{route}` | {row['handler_calls']:g} | {row['authorizer_calls']:g} | {ops} |")
        for fid, row in (calls.get("stream_functions") or {}).items():
            lines.append(f"| _{fid} (stream, per invocation)_ | {row['calls_per_invocation']:g} | - | |")
        lines.append("")
    if data.get("unknown_outcome"):
        lines.append(f"Requests of unknown outcome (5xx, timeouts, cut connections): `{data['unknown_outcome']}`")
        lines.append("")
    chart = _plots.load_latency(data, out / "load_latency.png")
    if chart:
        lines += [f"![load latency]({chart})", ""]
    return lines


def section_retrieval(data: dict[str, Any], out: Path) -> list[str]:
    from bench import _plots

    lines = ["## Retrieval (`bench/retrieval.py`)", ""]
    lines.append("Recall@k (%) per embedder and mode; **BM25 only** is the lexical baseline.")
    lines += ["", data.get("markdown") or _recall_table(data.get("recall") or {}), ""]
    latency = data.get("search_latency_ms") or {}
    if latency:
        lines += ["| run | search p50 ms | search p95 ms |", "|---|---:|---:|"]
        for run, row in latency.items():
            lines.append(f"| {run} | {fmt(row.get('p50'), 2)} | {fmt(row.get('p95'), 2)} |")
        lines.append("")
    embedding = data.get("embedding") or {}
    if embedding:
        lines += ["| embedder | load s | docs | docs s | ms/doc | queries s |", "|---|---:|---:|---:|---:|---:|"]
        for name, row in embedding.items():
            lines.append(
                f"| {name} | {fmt(row.get('load_s'), 2)} | {row.get('docs')} | {fmt(row.get('docs_s'), 2)} | "
                f"{fmt(row.get('per_doc_ms'), 2)} | {fmt(row.get('queries_s'), 2)} |"
            )
        lines.append("")
    chart = _plots.recall_curves(data, out / "retrieval_recall.png")
    if chart:
        lines += [f"![recall@k]({chart})", ""]
    return lines


def _recall_table(recall: dict[str, Any]) -> str:
    rows = ["| run | r@5 | r@10 | r@25 | r@50 |", "|---|---:|---:|---:|---:|"]
    for run, groups in recall.items():
        a = groups.get("all", {})
        rows.append(f"| {run} | " + " | ".join(fmt(a.get(f"r@{k}")) for k in (5, 10, 25, 50)) + " |")
    return "\n".join(rows)


def section_intelligence(data: dict[str, Any], out: Path) -> list[str]:
    lines = ["## Extraction and summaries (`bench/intelligence.py`)", ""]
    ex = data.get("extraction") or {}
    if ex:
        lines.append(
            f"Extraction over {ex.get('conversations')} conversations ({ex.get('speakers')} speakers); match rule: "
            f"{ex.get('rule')}. Baseline: **naive_first_person** (every first-person sentence)."
        )
        lines += ["", "| extractor | suggestions | facts | precision | recall | F1 |", "|---|---:|---:|---:|---:|---:|"]
        for name in [k for k, v in ex.items() if isinstance(v, dict) and "f1" in v]:
            row = ex[name]
            lines.append(
                f"| {name} | {row.get('suggestions')} | {row.get('facts')} | {fmt(row.get('precision'), 3)} | "
                f"{fmt(row.get('recall'), 3)} | {fmt(row.get('f1'), 3)} |"
            )
        tp = ex.get("throughput") or {}
        if tp:
            lines += [
                "",
                f"Throughput: {tp.get('messages')} messages in {tp.get('seconds')} s "
                f"({fmt(tp.get('messages_per_second'))} messages/s).",
            ]
        by_type = (ex.get("heuristic") or {}).get("by_type") or {}
        if by_type:
            lines += ["", "| type | suggested | matched | share matched |", "|---|---:|---:|---:|"]
            for t, row in by_type.items():
                share = row["matched"] / row["count"] if row.get("count") else 0.0
                lines.append(f"| {t} | {row['count']} | {row['matched']} | {share:.2f} |")
        lines.append("")
    sm = data.get("summaries") or {}
    if sm:
        lines.append(f"Summaries of {sm.get('dialogues')} dialogues. Baseline: **lead_3** (the first three sentences).")
        lines += [
            "",
            "| summariser | ROUGE-1 | ROUGE-2 | ROUGE-L | words | seconds |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name in [k for k, v in sm.items() if isinstance(v, dict)]:
            row = sm[name]
            lines.append(
                f"| {name} | {fmt(row.get('rouge1'), 4)} | {fmt(row.get('rouge2'), 4)} | {fmt(row.get('rougeL'), 4)} | "
                f"{fmt(row.get('words'))} | {fmt(row.get('seconds'), 3)} |"
            )
        lines.append("")
    return lines


def section_coldstart(data: dict[str, Any], out: Path) -> list[str]:
    from bench import _plots

    lines = ["## Cold start (`bench/coldstart.py`)", ""]
    floor = data.get("floor") or {}
    lines.append(
        f"Import (cold start) and first invoke per function, median of {data.get('repeat')} runs. Baseline: the "
        f"**floor** function `{floor.get('name')}` (the cheapest possible handler); a function over "
        f"{data.get('flag_ratio')}x the floor is flagged."
    )
    lines += [
        "",
        "| function | import ms | first invoke ms | modules | vs floor | status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    base = float(floor.get("import_ms") or 0) or None
    if floor:
        lines.append(
            f"| _floor: {floor.get('name')}_ | {fmt(floor.get('import_ms'))} | {fmt(floor.get('invoke_ms'))} | "
            f"{floor.get('modules')} | 1.00x | {floor.get('status')} |"
        )
    flagged = set(data.get("flagged") or [])
    for f in sorted(data.get("functions") or [], key=lambda f: -float(f.get("import_ms") or 0)):
        ratio = f"{float(f['import_ms']) / base:.2f}x" if base and f.get("import_ms") else "-"
        name = f"**{f['name']}** ⚑" if f["name"] in flagged else f["name"]
        lines.append(
            f"| {name} | {fmt(f.get('import_ms'))} | {fmt(f.get('invoke_ms'))} | {f.get('modules')} | {ratio} | "
            f"{f.get('status')} |"
        )
    if data.get("not_measured"):
        lines += ["", f"Not measured: {', '.join(map(str, data['not_measured']))}"]
    lines.append("")
    chart = _plots.coldstart_bars(data, out / "coldstart.png")
    if chart:
        lines += [f"![cold start]({chart})", ""]
    return lines


def section_other(name: str, data: Any) -> list[str]:
    keys = ", ".join(f"`{k}`" for k in list(data)[:15]) if isinstance(data, dict) else type(data).__name__
    return [f"## {name}", "", f"Result file with: {keys}. (No dedicated section in the report yet.)", ""]


SECTIONS = {
    "load": section_load,
    "retrieval": section_retrieval,
    "intelligence": section_intelligence,
    "coldstart": section_coldstart,
}


def build(results: Path) -> str:
    here = machine()
    lines = [
        "# Engram benchmark report",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {describe(here)} ({here['platform']}).",
        "Timings on a shared or small machine are noisy; compare runs made on the same machine.",
        "",
    ]
    found = {p.stem: p for p in sorted(results.glob("*.json"))}
    lines += ["| benchmark | result | how to produce it |", "|---|---|---|"]
    for name, command in KNOWN.items():
        lines.append(f"| {name} | {'`' + found[name].name + '`' if name in found else '**missing**'} | `{command}` |")
    lines.append("")
    for name in KNOWN:
        path = found.get(name)
        if path is None:
            lines += [f"## {name}", "", f"_No `{name}.json` in {results}: run `{KNOWN[name]}`._", ""]
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            lines += [f"## {name}", "", f"_`{path.name}` could not be read: {exc}_", ""]
            continue
        section = SECTIONS[name](data, results)
        lines += [section[0], "", provenance(name, data if isinstance(data, dict) else {}, path, here), *section[1:]]
    for name, path in found.items():
        if name in KNOWN:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        lines += section_other(name, data)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    report = build(results)
    (results / "REPORT.md").write_text(report, encoding="utf-8")
    print(f"wrote {results / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
