"""Fig. 2: network throughput stability, traditional vs proposed (GAI closed loop).

Grid: topology (small/medium/large, Table II) x scenario (S1: base,
self-similar traffic; S2: high device density, mMTC with 20/45/70% of the
sensors requesting UL simultaneously) x method x seed.

- traditional: the scenario's config runs as it is; the KPI weights are random
  (seeded), which changes nothing in the run (they only score it).
- proposed: generators.closed_loop.proposed() tunes the generatable fields on a
  *tuning* seed (seed + 1000) with the embedded LLM and ns-3; the chosen config
  is then run on the *evaluation* seed, the same seed the traditional run uses.
  Tuning and evaluating on different seeds keeps the comparison free of
  selection bias (the loop always includes the base config as a candidate).

Metric: stability = 1 / (1 + CV) of the aggregate UL goodput over windows of
sim.throughput_window_s (experiments/stats.py). improvement_pct per
(topology, scenario) = 100 * (mean stability proposed - mean stability
traditional) / mean stability traditional; the CI is the 95% Student-t interval
of the paired improvements, one pair per (seed, UL activity) run (none with one pair).
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pandas as pd

from . import config as configmod
from . import ns3_runner
from .campaign import Task, executor_for, grid, open_figure, task_key
from .stats import mean_ci, stability

PAPER_IMPROVEMENT_PCT = 38.0
TOPOLOGIES = ("small", "medium", "large")
S2_ACTIVITIES = (0.2, 0.45, 0.7)

PROFILES = {
    # <= 10 minutes on 2 cores: one seed, short runs, a small loop
    "default": {"seeds": [1], "duration_s": {"small": 4.0, "medium": 1.5, "large": 0.3},
                "warmup_s": 0.5, "drain_s": 0.2, "k": {"small": 2, "medium": 2, "large": 1}, "iterations": 1,
                "topologies": TOPOLOGIES},
    # paper-grade: >= 5 seeds per cell (Table I: 95% CI), longer runs, a longer loop
    "full": {"seeds": [1, 2, 3, 4, 5], "duration_s": {"small": 10.0, "medium": 5.0, "large": 2.0},
             "warmup_s": 0.5, "drain_s": 0.3, "k": 3, "iterations": 2, "topologies": TOPOLOGIES},
    # for tests
    "tiny": {"seeds": [1, 2], "duration_s": {"small": 1.0}, "warmup_s": 0.3, "drain_s": 0.2, "k": 1,
             "iterations": 1, "topologies": ("small",)},
}

SUMMARY_COLUMNS = ["topology", "scenario", "improvement_pct", "ci_low", "ci_high", "n_pairs",
                   "stability_traditional", "stability_proposed", "paper_improvement_pct"]
CSV_COLUMNS = ["topology", "scenario", "method", "seed", "stability", "mean_throughput_bps"]
EXTRA_COLUMNS = ["ul_activity", "offered_bps", "goodput_ratio", "O", "case", "rho", "d", "l_ms", "alpha",
                 "config_hash", "generated", "key"]


def scenario_config(topology: str, scenario: str, ul_activity: float, seed: int, duration_s: float,
                    warmup_s: float, drain_s: float) -> dict:
    """The resolved base config of one grid cell."""
    cfg = copy.deepcopy(configmod.example(topology))
    cfg.update(seed=int(seed), duration_s=float(duration_s), name=f"{topology}-{scenario}-{ul_activity}")
    t = cfg["traffic"]
    t["ul_activity"] = float(ul_activity)
    t["payload_bytes"] = {"min": 24, "max": 250}  # <= 2 kbit/s per sensor at one report per second (paper)
    t["report_period_s"] = 1.0
    if scenario == "S1":
        t["service"] = "self_similar"  # Pareto ON/OFF sources, ON fraction = ul_activity
    else:
        t["service"] = "mmtc"
        t["synchronized_periods"] = True  # simultaneous UL requests
        t["access_spread_s"] = 0.02
    cfg["sim"].update(warmup_s=warmup_s, drain_s=drain_s)
    return configmod.validate(cfg)


def _metrics(result: dict) -> dict:
    tot = result["totals"]
    k = result["kpis"]
    return {"stability": stability(result["throughput_series"]["bps"]),
            "mean_throughput_bps": tot["goodput_bps"], "offered_bps": tot["offered_bps"],
            "goodput_ratio": tot["goodput_bps"] / tot["offered_bps"] if tot["offered_bps"] else math.nan,
            "rho": k["rho"], "d": k["d"], "l_ms": k["l"], "alpha": k["alpha"]}


def run_cell(topology: str, scenario: str, ul_activity: float, method: str, seed: int, duration_s: float,
             warmup_s: float, drain_s: float, k: int, iterations: int, out_dir: str,
             llm_url: str | None = None, llm_model: str | None = None) -> dict:
    """One run of the grid (a campaign task). Returns the fig2.csv row."""
    from generators import closed_loop
    from generators.generation_schema import current_values

    base = scenario_config(topology, scenario, ul_activity, seed, duration_s, warmup_s, drain_s)
    out = Path(out_dir)
    row = {"topology": topology, "scenario": scenario, "ul_activity": ul_activity, "method": method,
           "seed": seed}
    if method == "traditional":
        res = closed_loop.traditional(base, out)
        result, cfg, O, case = res.best_result, base, res.best_O, res.case
        row["generated"] = ""
    else:
        from generators.llm_client import LLMClient

        tune = dict(copy.deepcopy(base), seed=int(seed) + 1000)
        client = LLMClient(llm_url, llm_model, audit_path=out / "generations.jsonl")
        res = closed_loop.proposed(configmod.validate(tune), out / "loop", client, k=k, iterations=iterations,
                                   workers=1)
        cfg = configmod.validate(dict(copy.deepcopy(res.best_config), seed=int(seed), name=base["name"]))
        result = ns3_runner.run_scenario(cfg, out / "eval", bridge=False).result
        from generators import objective

        O, _ = objective.score_result(result, res.weights, float(cfg["network"]["deadline_ms"]))
        case = res.case
        row["generated"] = json.dumps(current_values(cfg), sort_keys=True)
    row.update(_metrics(result), O=O, case=case, config_hash=configmod.config_hash(cfg))
    return row


def tasks_for(profile: dict, out: Path, llm_url: str | None, llm_model: str | None, methods=("traditional", "proposed")):
    tasks = []
    cells = [("S1", 0.45)] + [("S2", a) for a in S2_ACTIVITIES]
    for g in grid(topology=profile["topologies"], cell=cells, method=methods, seed=profile["seeds"]):
        topology, (scenario, act), method, seed = g["topology"], g["cell"], g["method"], g["seed"]
        params = {"topology": topology, "scenario": scenario, "ul_activity": act, "method": method,
                  "seed": seed, "duration_s": profile["duration_s"][topology], "warmup_s": profile["warmup_s"],
                  "drain_s": profile["drain_s"], "iterations": profile["iterations"],
                  "k": profile["k"][topology] if isinstance(profile["k"], dict) else profile["k"]}
        key = task_key("fig2", params)
        label = f"{topology} {scenario}@{act:.2f} {method} seed {seed}"
        run_dir = out / "runs" / key.split(":")[1]
        tasks.append(Task(key, "experiments.fig2:run_cell",
                          dict(params, out_dir=str(run_dir), llm_url=llm_url, llm_model=llm_model), label))
    return tasks


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """fig2_summary.csv: improvement of proposed over traditional per (topology, scenario)."""
    rows = []
    for (topo, scen), g in df.groupby(["topology", "scenario"], sort=False):
        piv = g.pivot_table(index=["seed", "ul_activity"], columns="method", values="stability")
        if not {"traditional", "proposed"} <= set(piv.columns):
            continue
        piv = piv.dropna()
        paired = 100 * (piv["proposed"] - piv["traditional"]) / piv["traditional"].abs()
        m_t, m_p = piv["traditional"].mean(), piv["proposed"].mean()
        imp = 100 * (m_p - m_t) / abs(m_t) if m_t else math.nan
        _, lo, hi = mean_ci(paired.tolist())
        rows.append({"topology": topo, "scenario": scen, "improvement_pct": imp, "ci_low": lo, "ci_high": hi,
                     "n_pairs": len(piv), "stability_traditional": m_t, "stability_proposed": m_p,
                     "paper_improvement_pct": PAPER_IMPROVEMENT_PCT})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def plot(df: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    """Drawn like the paper's Fig. 2 (throughput per topology, S1 and S2, traditional vs
    proposed), with a second row for the stability metric. S2's three activity levels
    are averaged within each seed; error bars are 95% CIs over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    topologies = [t for t in TOPOLOGIES if t in set(df["topology"])]
    sensors = {"small": 50, "medium": 250, "large": 1000}
    per_seed = df.groupby(["topology", "scenario", "method", "seed"], as_index=False)[
        ["mean_throughput_bps", "stability"]].mean()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    titles = {"S1": "Scenario-1 (base, self-similar)", "S2": "Scenario-2 (high density, mMTC 20/45/70%)"}
    for col, scen in enumerate(("S1", "S2")):
        for row, (metric, label, scale) in enumerate((("mean_throughput_bps", "mean UL throughput (kb/s)", 1e3),
                                                      ("stability", "stability 1/(1+CV)", 1.0))):
            ax = axes[row][col]
            x = np.arange(len(topologies))
            for j, (method, color) in enumerate((("traditional", "#d62728"), ("proposed", "#1f77b4"))):
                means, errs = [], []
                for t in topologies:
                    sel = per_seed[(per_seed.topology == t) & (per_seed.scenario == scen) & (per_seed.method == method)]
                    m, lo, hi = mean_ci((sel[metric] / scale).tolist())
                    means.append(m)
                    errs.append(0 if math.isnan(lo) else (hi - lo) / 2)
                ax.bar(x + (j - 0.5) * 0.38, means, 0.38, yerr=errs, capsize=3, color=color, label=method)
            if row == 1:
                for i, t in enumerate(topologies):
                    srow = summary[(summary.topology == t) & (summary.scenario == scen)]
                    if len(srow):
                        ax.text(i, 1.02, f"{srow.improvement_pct.iloc[0]:+.1f}%", ha="center", fontsize=8)
                ax.set_ylim(0, 1.12)
            ax.set_xticks(x, [f"{t} ({sensors[t]})" for t in topologies])
            ax.set_ylabel(label + ", 95% CI")
            ax.set_title(titles[scen], fontsize=10)
            if row == 0:
                ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Fig. 2 reproduction; labels: stability change of proposed vs traditional "
                 f"(paper: {PAPER_IMPROVEMENT_PCT:.0f}% more stable in high density)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(args) -> int:
    from .dashboard import Dashboard

    profile, out, camp = open_figure(args, "fig2", PROFILES)
    methods = tuple(getattr(args, "methods", None) or ("traditional", "proposed"))

    def summary_text(task, outcome):
        r = outcome["result"]
        return f"stability {r['stability']:.3f}, {r['mean_throughput_bps'] / 1e3:.1f} kb/s, O={r['O']:.3f}"

    def go(llm_url, llm_model):
        tasks = tasks_for(profile, out, llm_url, llm_model, methods)
        dash = Dashboard("fig2", summary_text, quiet=args.quiet)
        return tasks, camp.run_missing(tasks, executor_for(args.scheduler, args.workers), dash)

    if "proposed" in methods:
        from generators.llm_server import endpoint

        with endpoint(args.llm_url, args.llm_model) as ep:
            tasks, counts = go(ep.url, ep.model)
    else:
        tasks, counts = go(None, None)
    df = camp.to_dataframe()
    keys = {t.key for t in tasks}
    df = df[df["key"].isin(keys)] if len(df) else df
    cols = CSV_COLUMNS + [c for c in EXTRA_COLUMNS if c in df.columns]
    df = df[cols].sort_values(["topology", "scenario", "ul_activity", "method", "seed"]) if len(df) else pd.DataFrame(columns=cols)
    df.to_csv(out / "fig2.csv", index=False)
    summary = summarize(df) if len(df) else pd.DataFrame(columns=SUMMARY_COLUMNS)
    summary.to_csv(out / "fig2_summary.csv", index=False)
    if len(df):
        plot(df, summary, out / "fig2.png")
    failed = camp.failures()
    failed = failed[failed["key"].isin(keys)] if len(failed) else failed
    print(f"fig2: {counts['done']} ran, {counts['skipped']} skipped (already done), {counts['failed']} failed")
    print(f"fig2: {len(df)} runs in {out / 'fig2.csv'}; {len(failed)} failed"
          + (f" (see {out / 'campaign.sqlite'}, table runs)" if len(failed) else ""))
    print(f"fig2: summary {out / 'fig2_summary.csv'}; figure {out / 'fig2.png'}")
    if len(summary):
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(summary[["topology", "scenario", "improvement_pct", "ci_low", "ci_high", "n_pairs"]]
                  .to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    camp.close()
    return 0 if len(failed) == 0 else 1
