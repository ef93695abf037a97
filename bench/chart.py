"""A PNG of throughput and latency, written into bench/results/ (git-ignored)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _throughput(r: dict[str, Any]) -> dict[str, float]:
    bars: dict[str, float] = {}
    if r.get("floor"):
        bars["floor wf/s"] = r["floor"]["per_s"]
    if r.get("shape"):
        bars["shape wf/s"] = r["shape"]["per_s"]
    if r.get("pipeline"):
        bars["pipeline orders/s"] = r["pipeline"]["per_s"]
    if r.get("ingest"):
        bars["ingest api/s"] = r["ingest"]["api"]["per_s"]
        bars["ingest raw/s"] = r["ingest"]["raw"]["per_s"]
    for db, v in (r.get("reservations") or {}).get("databases", {}).items():
        if "project_per_s" in v:
            bars[f"reserve {db}"] = v["project_per_s"]
            bars[f"raw {db}"] = v["raw_per_s"]
    return bars


def _latency(r: dict[str, Any]) -> dict[str, tuple[float, float]]:
    series: dict[str, tuple[float, float]] = {}
    if r.get("ingest"):
        for side in ("api", "raw"):
            s = r["ingest"][side]
            series[f"ingest {side}"] = (s["p50_ms"], s["p99_ms"])
    for cell, v in (r.get("routing") or {}).items():
        series[f"route {cell}"] = (v["p50_ms"], v["p99_ms"])
    return series


def write_chart(r: dict[str, Any], directory: Path = RESULTS) -> Path | None:
    """Two panels (throughput, p50/p99 latency); None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 9))
    bars = _throughput(r)
    top.barh(list(bars), list(bars.values()), color="tab:blue")
    top.set_xscale("log")
    top.set_title(
        f"throughput (per s, log)  pipeline_vs_floor={r.get('pipeline_vs_floor')} "
        f"(shape_vs_floor={r.get('shape_vs_floor')} x pipeline_vs_shape="
        f"{r.get('pipeline_vs_shape')})  oversold={r.get('oversold')}"
    )
    lat = _latency(r)
    names = list(lat)
    ys = range(len(names))
    bottom.barh([y + 0.2 for y in ys], [v[1] for v in lat.values()], 0.4, label="p99")
    bottom.barh([y - 0.2 for y in ys], [v[0] for v in lat.values()], 0.4, label="p50")
    bottom.set_yticks(list(ys), names)
    bottom.set_xscale("log")
    bottom.set_title("latency (ms, log)")
    bottom.legend()
    fig.tight_layout()
    path = directory / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
