"""The human-readable table of a run."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return str(value)


def rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, unit) rows for what the run measured."""
    out: list[tuple[str, str, str]] = [
        ("pipeline_vs_floor", _fmt(r.get("pipeline_vs_floor")), "ratio (target >= 0.8)"),
        ("  shape_vs_floor", _fmt(r.get("shape_vs_floor")), "Temporal: the order's shape"),
        ("  pipeline_vs_shape", _fmt(r.get("pipeline_vs_shape")), "the OMS's own work"),
        ("ingest_vs_raw", _fmt(r.get("ingest_vs_raw")), "ratio"),
        ("reservation_vs_raw", _fmt(r.get("reservation_vs_raw")), "ratio (geomean of dbs)"),
        ("oversold", _fmt(r.get("oversold")), "units (must be 0)"),
        ("channel_oversold", _fmt(r.get("channel_oversold")), "orders (intake reservation on)"),
        (
            "  without intake or shares",
            _fmt(r.get("channel_oversold_without_shares")),
            "orders (every channel shown all ATP)",
        ),
        ("atp_lag_p99_s", _fmt(r.get("atp_lag_p99_s")), "s (target < 1)"),
    ]
    if floor := r.get("floor"):
        out.append(("floor", _fmt(floor["per_s"]), f"workflows/s ({len(floor['steps'])} steps)"))
    if shape := r.get("shape"):
        plan = f"{shape['steps']} + child {shape['child_steps']}"
        out.append(("shape", _fmt(shape["per_s"]), f"workflows/s ({plan})"))
    if p := r.get("pipeline"):
        out.append(("pipeline", _fmt(p["per_s"]), f"orders/s ({p['completed']}/{p['orders']})"))
    if i := r.get("ingest"):
        for side in ("api", "raw"):
            s = i[side]
            out.append((f"ingest {side}", _fmt(s["per_s"]), "/s"))
            out.append((f"ingest {side} p50/p99", f"{s['p50_ms']}/{s['p99_ms']}", "ms"))
    for db, v in (r.get("reservations") or {}).get("databases", {}).items():
        if "skipped" in v:
            out.append((f"reserve {db}", "skipped", v["skipped"][:40]))
            continue
        out.append((f"reserve {db} project", _fmt(v["project_per_s"]), "attempts/s"))
        out.append((f"reserve {db} raw", _fmt(v["raw_per_s"]), "attempts/s"))
        out.append((f"reserve {db} ratio", _fmt(v["reservation_vs_raw"]), "ratio"))
    for cell, v in (r.get("routing") or {}).items():
        out.append((f"route {cell}", f"{v['p50_ms']}/{v['p99_ms']}", "ms p50/p99"))
    if f := r.get("flash_sale"):
        out.append(("flash drain", _fmt(f["drain_s"]), f"s for {f['orders']} orders"))
        out.append(("flash oversold", _fmt(f["oversold"]), "units"))
    if sale := r.get("channel_sale"):
        for side, v in sale.items():
            out.append((f"sale {side} oversold", _fmt(v["channel_oversold"]), "orders"))
            out.append(
                (f"sale {side} atp lag p50/p99", f"{v['atp_lag_p50_s']}/{v['atp_lag_p99_s']}", "s")
            )
            out.append((f"sale {side} drain", _fmt(v["drain_s"]), "s"))
    if lag := r.get("channel_lag"):
        out.append(("channel lag p50/p99", f"{lag['p50_ms']}/{lag['p99_ms']}", "ms"))
    out.append(("elapsed", _fmt(r.get("elapsed_s")), "s"))
    return out


def table(r: dict[str, Any]) -> str:
    """Aligned three-column table."""
    body = rows(r)
    w0 = max(len(a) for a, _, _ in body)
    w1 = max(len(b) for _, b, _ in body)
    return "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c}" for a, b, c in body)
