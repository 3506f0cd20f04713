"""Charts for bench/report.py (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend is chosen first


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def load_latency(load: dict[str, Any], path: Path) -> str | None:
    """Box plots of successful-request latency per route (log scale), and latency over time."""
    routes = [(r, row) for r, row in load.get("routes", {}).items() if row.get("samples")]
    if not routes:
        return None
    fig, (box, timeline) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    data = [[ms for _, ms, status in row["samples"] if 200 <= status < 300] or [0.0] for _, row in routes]
    labels = [r.replace("POST ", "").replace("/v1/", "/") for r, _ in routes]
    box.boxplot(data, orientation="horizontal", tick_labels=labels, showfliers=True, whis=(5, 95))
    box.set_xscale("log")
    box.set_xlabel("latency, ms (log; whiskers p5-p95)")
    box.set_title("HTTP latency per route")
    for _, row in routes:
        points = sorted((t, ms) for t, ms, status in row["samples"])
        timeline.plot([p[0] for p in points], [p[1] for p in points], ".", markersize=2, alpha=0.6)
    kill = load.get("kill")
    if kill:
        timeline.axvline(kill["killed_at_s"], color="red", linestyle="--", label="SIGKILL")
        timeline.legend()
    timeline.set_xlabel("seconds into the run")
    timeline.set_ylabel("latency, ms")
    timeline.set_title("Latency over time (all routes)")
    return _save(fig, path)


def recall_curves(retrieval: dict[str, Any], path: Path) -> str | None:
    recall = retrieval.get("recall") or {}
    if not recall:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run, groups in recall.items():
        overall = groups.get("all") or {}
        ks = sorted(int(k[2:]) for k in overall if k.startswith("r@"))
        if not ks:
            continue
        style = "--" if "bm25" in run.lower() else "-"
        ax.plot(ks, [overall[f"r@{k}"] for k in ks], style, marker="o", label=run)
    ax.set_xscale("log")
    ax.set_xticks([5, 10, 25, 50])
    ax.set_xticklabels(["5", "10", "25", "50"])
    ax.minorticks_off()
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k, %")
    ax.set_title("Retrieval recall@k per embedder and mode (dashed: BM25 baseline)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def coldstart_bars(coldstart: dict[str, Any], path: Path) -> str | None:
    functions = coldstart.get("functions") or []
    if not functions:
        return None
    rows = sorted(functions, key=lambda f: -float(f.get("import_ms") or 0))
    floor = coldstart.get("floor") or {}
    names = [f["name"] for f in rows]
    fig, ax = plt.subplots(figsize=(9, max(4, 0.28 * len(rows) + 1)))
    ax.barh(names, [f.get("import_ms") or 0 for f in rows], label="import (cold start)")
    ax.barh(
        names,
        [f.get("invoke_ms") or 0 for f in rows],
        left=[f.get("import_ms") or 0 for f in rows],
        label="first invoke",
    )
    if floor.get("import_ms"):
        ax.axvline(
            float(floor["import_ms"]), color="black", linestyle="--", label=f"floor ({floor.get('name', 'baseline')})"
        )
        if coldstart.get("flag_ratio"):
            limit = float(floor["import_ms"]) * float(coldstart["flag_ratio"])
            ax.axvline(limit, color="red", linestyle=":", label=f"flag at {coldstart['flag_ratio']}x floor")
    ax.invert_yaxis()
    ax.set_xlabel("ms")
    ax.set_title("Cold start per function")
    ax.legend(fontsize=8)
    return _save(fig, path)
