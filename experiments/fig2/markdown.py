"""Fig. 2 as a Markdown table: fig2_summary.md, one row per cell and arm."""
from __future__ import annotations

import math

import pandas as pd

from .plan import PAPER_IMPROVEMENT_PCT, REPORT_PERIOD_S, S2_DEADLINE_MS, THROUGHPUT_WINDOW_S


def _fmt(v, spec="+.1f", suffix="") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:{spec}}{suffix}"


def summary_markdown(summary: pd.DataFrame, df: pd.DataFrame) -> str:
    """fig2_summary.md: the README's table, one row per cell and arm, written by the command."""
    lines = ["| topology | cell | arm | stability change vs traditional | 95% CI | pairs | O change | d (trad -> arm) "
             "| goodput/offered (trad -> arm) | ns-3 runs | LLM calls | tuning wall s | paper |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        lines.append(
            f"| {r.topology} | {r.scenario}@{r.activity:g} | {r.method} | {_fmt(r.improvement_pct, '+.1f', '%')} "
            f"| {_fmt(r.ci_low, '+.1f')} .. {_fmt(r.ci_high, '+.1f')} | {r.n_pairs} | {_fmt(r.O_change, '+.3f')} "
            f"| {_fmt(r.d_traditional, '.3f', '')} -> {_fmt(r.d_method, '.3f', '')} "
            f"| {_fmt(r.goodput_ratio_traditional, '.3f', '')} -> {_fmt(r.goodput_ratio_method, '.3f', '')} "
            f"| {_fmt(r.ns3_runs, '.1f', '')} | {_fmt(r.llm_calls, '.1f', '')} | {_fmt(r.tuning_wall_s, '.0f', '')} "
            f"| {PAPER_IMPROVEMENT_PCT:+.0f}% (S2) |")
    trad = df[df.method == "traditional"].groupby(["topology", "scenario", "ul_activity"])[
        ["stability", "stability_100ms", "d", "l_ms", "goodput_ratio", "offered_bps", "peak_window_bps",
         "gateways"]].mean()
    lines += ["", "Traditional runs, mean over evaluation seeds: is the network the bottleneck? Per cell (gateway): "
              "the offered load; the rate a period's synchronized burst needs to drain within the deadline "
              "(offered x period / deadline, S2); and the highest rate the cell was measured to drain "
              f"(the best {THROUGHPUT_WINDOW_S * 1e3:.0f} ms window of aggregate goodput / gateways).", "",
              "| topology | cell | stability | stability_100ms | d | l ms | goodput/offered | offered kbit/s per cell "
              "| burst needs kbit/s per cell | drained at most kbit/s per cell |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for (topo, scen, act), r in trad.iterrows():
        per_cell = r.offered_bps / r.gateways / 1e3
        burst = per_cell * REPORT_PERIOD_S * 1e3 / S2_DEADLINE_MS if scen == "S2" else math.nan
        lines.append(f"| {topo} | {scen}@{act:g} | {r.stability:.3f} | {r.stability_100ms:.3f} | {r.d:.3f} "
                     f"| {r.l_ms:.1f} | {r.goodput_ratio:.3f} | {per_cell:.1f} | {_fmt(burst, '.0f', '')} "
                     f"| {r.peak_window_bps / r.gateways / 1e3:.0f} |")
    return "\n".join(lines) + "\n"
