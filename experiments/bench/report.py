"""`run.py bench`: run the chosen benches into one report, and render it as tables."""
from __future__ import annotations

import json
import os
from typing import Sequence

from rich.console import Console
from rich.table import Table

from experiments.explore_browser import bench_explore
from gaidt.errors import UsageError
from generators import bench_llm

from .bridge import bench_bridge
from .campaign import bench_fig
from .goals import goals, goals_from
from .runs import machine
from .sim import SIM_VARIANTS, bench_knob, bench_sim


def run_bench(which: str = "all", *, topologies: Sequence[str] = ("small", "medium", "large"),
              duration_s: float | None = None, knob: str | None = None, from_json: Sequence[str] | None = None,
              with_fig: bool = False, fig_profile: str = "default", fig_workers: int | None = None,
              fig_out: str | None = None, overhead_runs: int = 8, llm_url: str | None = None,
              llm_model: str | None = None, llm_api_key: str | None = None, progress=None,
              repeat: int = 1, variants: Sequence[str] = SIM_VARIANTS) -> dict:
    """Run the benchmarks of ``which`` (module docstring) and return the report (what --json prints).

    knob: "FIELD=V1,V2" for which="knob"; from_json: saved reports for which="goals"; progress: an
    optional callable for progress lines. Raises UsageError for a bad knob or goals input."""
    progress = progress or (lambda msg: None)
    topologies = [t for t in topologies if t]
    if which == "knob":
        if not knob:
            raise UsageError("bench knob: give the knob and its values, e.g. --set sim.dl_ctrl_interference=per_cell,aggregate")
        field, _, raw = knob.partition("=")
        values = [_parse_value(v) for v in raw.split(",") if v]
        if not field or not values:
            raise UsageError(f"--set {knob!r}: expected FIELD=VALUE[,VALUE...]")
        try:
            return {"machine": machine(), "knob": bench_knob(topologies[0], field, values, duration_s, progress)}
        except (KeyError, TypeError) as e:
            raise UsageError(f"--set {field}: no such config field ({e})") from None
    if which == "explore":  # issue 17: the Twin Explorer page of a 1000-sensor run in headless Chromium
        return {"machine": machine(), "explore": bench_explore(topologies[-1], duration_s, progress=progress)}
    if which == "goals":
        if not from_json:
            raise UsageError("goals: give the saved reports with --from A.json [B.json ...]")
        try:
            return goals_from(from_json)
        except ValueError as e:
            raise UsageError(f"goals: {e}") from None
    report = {"machine": machine()}
    if which in ("all", "sim"):
        report["sim"] = bench_sim(topologies, duration_s, progress, repeat=repeat, variants=variants)
    if which in ("all", "bridge"):
        report["bridge"] = bench_bridge(duration_s, progress)
    if which == "fig" or (which == "all" and with_fig):
        report["fig"] = bench_fig(fig_profile, fig_workers, report.get("sim"), llm_url, llm_model, llm_api_key,
                                  overhead_runs, progress, out_dir=fig_out)
    if which == "all" and os.environ.get("GAIDT_BENCH_LLM", "1") == "1":  # the embedded model starts only here
        try:
            report["llm"] = bench_llm.run(progress=progress)
        except Exception as e:  # noqa: BLE001 -- report, don't lose the other numbers
            report["llm"] = {"error": str(e)}
    report["goals"] = goals(report)
    return report


def render(report: dict, console: Console) -> None:
    """A report of run_bench as rich tables (what `run.py bench` shows without --json)."""
    if "knob" in report:
        k = report["knob"]
        t = Table(title=f"{k['field']} on {k['topology']} ({k['duration_s']} s of traffic; other knobs fast)")
        for c in ("value", "wall s / sim s", "vs first", "events / sim s", "goodput b/s", "identical to first"):
            t.add_column(c)
        for r in k["values"]:
            t.add_row(str(r["value"]), f"{r['wall_per_sim_s']:.3g}", f"{r['time_vs_first']:.3g}x",
                      f"{r['events_per_sim_s']:,}", f"{r['goodput_bps']:,.0f}", str(r["identical_to_first"]))
        console.print(t)
        return
    if "explore" in report:
        console.print_json(json.dumps(report["explore"]))
        return
    _render_goals(report, console)


def _parse_value(text: str):
    """A --set value: a JSON number/bool if it parses as one, else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _traffic_cell(row: dict) -> str:
    """'fast / power saving' wall s per simulated s in the traffic phase, '-' where not measured."""
    def one(variant):
        t = ((row.get(variant) or {}).get("phases") or {}).get("traffic") or {}
        return f"{t['wall_per_sim_s']:.2f}" if t.get("wall_per_sim_s") is not None else "-"
    return f"{one('fast')} / {one('power_saving')}"


def _render_goals(report: dict, console: Console) -> None:
    if "sim" in report:
        t = Table(title="ns-3 speed (wall seconds per simulated second)")
        for c in ("topology", "stock", "fast", "speedup", "events/sim s (fast)", "same goodput",
                  "power saving", "vs fast", "traffic phase: fast / power saving"):
            t.add_column(c)
        for r in report["sim"]:
            ps = r.get("power_saving")
            st = r.get("stock")
            t.add_row(r["topology"], f"{st['wall_per_sim_s']:.2f}" if st else "-", f"{r['fast']['wall_per_sim_s']:.2f}",
                      f"{r['speedup']:.2f}x" if r.get("speedup") else "-", f"{r['fast']['events_per_sim_s']:,}",
                      str(r["same_goodput"]),
                      f"{ps['wall_per_sim_s']:.2f} ({ps.get('power_mode')})" if ps else "-",
                      f"{r['power_saving_speedup']:.2f}x" if ps else "-",
                      _traffic_cell(r))
        console.print(t)
    if "bridge" in report:
        console.print_json(json.dumps(report["bridge"]))
    if "fig" in report:
        console.print_json(json.dumps(report["fig"]))
    t = Table(title="issue 7 speed goals (ratio = measured / stock)")
    for c in ("goal", "target", "measured", "stock", "ratio", "met"):
        t.add_column(c)
    def fmt(v):
        if v is None:
            return "-"
        if not isinstance(v, float):
            return str(v)
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"

    for g in report["goals"]:
        est = " (estimate)" if g.get("estimated") else ""
        t.add_row(g["goal"], f"{g['target']} {g['unit']}".strip(), fmt(g["measured"]) + est,
                  fmt(g["stock"]) + (" (estimate)" if g.get("stock_estimated") and g["stock"] is not None else ""),
                  fmt(g["ratio_vs_stock"]), {True: "yes", False: "no", None: "-"}[g["met"]])
    console.print(t)
