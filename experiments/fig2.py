"""Fig. 2: network throughput stability, traditional vs proposed (GAI closed loop).

Grid: topology (small/medium/large, Table II) x scenario cell (S1: base,
self-similar traffic; S2: high device density, mMTC with 20/45/70% of the
sensors requesting UL simultaneously) x method x evaluation seed.

- traditional: the cell's config runs as it is on each evaluation seed; the KPI
  weights are random (seeded), which changes nothing in the run (they only score it).
- proposed: generators.closed_loop.proposed() tunes the generatable fields ONCE
  per (topology, cell), on a tuning seed (TUNING_SEED_OFFSET + the profile's
  first seed, i.e. 1001 for seeds 1..5), with the LLM and ns-3. The tuned values
  are then applied to the cell's config on every evaluation seed (the seeds the
  traditional runs use), so each traditional run has a proposed twin on the
  same seed. The tuning seed is never an evaluation seed, so no selection bias
  helps the proposed method (the loop always includes the base config as a
  candidate, so "no change" is a possible outcome); the proposed runs' O uses
  the tuning loop's weights.

The campaign runs in two phases (experiments/campaign.py; a rerun skips every
finished task of either phase):
  phase 1  the traditional runs and one tuning task per (topology, cell); a
           tuning task's result (chosen values and config, O of the base and of
           the choice, case, weights, candidate counts) is stored in
           campaign.sqlite like any run and written to fig2_tuning.csv;
  phase 2  one proposed run per (topology, cell, evaluation seed), built from
           the stored tuning result (its key names the tuning task, so a new
           tuning gives new evaluations).
A cell whose tuning failed has no proposed runs; the command reports it and exits 1.
The tuning key includes the LLM's model name, so another model tunes again.

What the CI means: each cell is tuned once, so the 95% CI over evaluation seeds
is the run-to-run spread of one tuned config against the base config; how much
the tuning itself would vary on another tuning seed is not in it.

Metric: stability = 1 / (1 + CV) of the aggregate UL goodput over windows of
sim.throughput_window_s (experiments/stats.py). improvement_pct per
(topology, scenario) = 100 * (mean stability proposed - mean stability
traditional) / mean stability traditional; the CI is the 95% Student-t interval
of the paired improvements, one pair per (seed, UL activity) run (none with one pair).

Run time: estimate_profile_s() gives a profile's ns-3 runs, core-seconds and wall
time on N workers from per-topology rates (PLANNING_RATES, or rates measured by
`run.py bench sim`); `run.py bench fig` reports it next to a measured campaign.
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
CELLS = (("S1", 0.45),) + tuple(("S2", a) for a in S2_ACTIVITIES)
TUNING_SEED_OFFSET = 1000  # tuning seed = this + the profile's first evaluation seed (seeds stay < 1000)

PROFILES = {
    # <= 10 minutes on 2 cores: one seed, short runs, a small loop
    "default": {"seeds": [1], "duration_s": {"small": 4.0, "medium": 1.5, "large": 0.3},
                "warmup_s": 0.5, "drain_s": 0.2, "k": {"small": 2, "medium": 2, "large": 1}, "iterations": 1,
                "topologies": TOPOLOGIES},
    # paper grade (Table I: 95% CI): 5 evaluation seeds per cell, S2 at 3 activity levels, traffic
    # covering 10 / 5 / 2 report periods (1 s each), a k=3 loop. Sized to fit 60 min on 2 cores:
    # estimate_profile_s("full") with the rates `run.py bench sim` measured on 2026-11-26 (large
    # 15.3 s wall per simulated s) is 216 ns-3 runs, about 31 min; `run.py bench fig --fig-profile
    # full` times the real thing (benchmarks/README.md).
    "full": {"seeds": [1, 2, 3, 4, 5], "duration_s": {"small": 10.0, "medium": 5.0, "large": 2.0},
             "warmup_s": 0.5, "drain_s": 0.2, "k": 3,
             "iterations": {"small": 3, "medium": 2, "large": 2}, "topologies": TOPOLOGIES},
    # for tests
    "tiny": {"seeds": [1, 2], "duration_s": {"small": 1.0}, "warmup_s": 0.3, "drain_s": 0.2, "k": 1,
             "iterations": 1, "topologies": ("small",)},
}

# Planning figures for estimate_profile_s (issue 7), measured on the 2-core VM: wall seconds per
# simulated second (warm-up and drain included), process start-up per run, LLM time per candidate.
# large: 35-44 measured before the DL-control aggregation, 14.9 after it (commit a28ada1, one run);
# 25 is the planning figure (wall varies +-25% on the VM).
PLANNING_RATES = {
    # `run.py bench sim` fast rates measured 2026-11-26 (2-core EPYC VM), rounded up
    "source": "planning figures (bench sim, 2026-11-26)",
    "wall_per_sim_s": {"small": 0.25, "medium": 1.5, "large": 16.0},
    "startup_s": {"small": 0.5, "medium": 1.0, "large": 3.0},
    "llm_s_per_candidate": 1.5,
    "bridged_factor": 1.0,   # a loop's base run has the live twin attached: no measurable cost (bench bridge)
    "llm_startup_s": 40.0,   # the embedded vLLM server (36 s measured)
}

SUMMARY_COLUMNS = ["topology", "scenario", "improvement_pct", "ci_low", "ci_high", "n_pairs",
                   "stability_traditional", "stability_proposed", "paper_improvement_pct"]
CSV_COLUMNS = ["topology", "scenario", "method", "seed", "stability", "mean_throughput_bps"]
EXTRA_COLUMNS = ["ul_activity", "offered_bps", "goodput_ratio", "O", "case", "rho", "d", "l_ms", "alpha",
                 "config_hash", "generated", "key", "tuning_seed"]
TUNING_COLUMNS = ["topology", "scenario", "ul_activity", "tuning_seed", "case", "O_base", "O", "base_chosen",
                  "generated", "candidates", "duplicates", "invalid", "ns3_runs", "tuning_stability", "key"]


def _per_topology(value, topology: str):
    return value[topology] if isinstance(value, dict) else value


def tuning_seed(profile: dict) -> int:
    return TUNING_SEED_OFFSET + int(profile["seeds"][0])


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
             warmup_s: float, drain_s: float, out_dir: str, tuned: dict | None = None,
             tune_key: str | None = None) -> dict:
    """One evaluation run (a campaign task): traditional (phase 1) or proposed (phase 2,
    `tuned` = the tuning task's values, weights, case and seed; `tune_key` names that task in
    campaign.sqlite and is part of this task's key). Returns the fig2.csv row."""
    from generators import closed_loop, objective
    from generators.compile import compile_candidate
    from generators.generation_schema import current_values

    base = scenario_config(topology, scenario, ul_activity, seed, duration_s, warmup_s, drain_s)
    out = Path(out_dir)
    row = {"topology": topology, "scenario": scenario, "ul_activity": ul_activity, "method": method,
           "seed": seed}
    if method == "traditional":
        res = closed_loop.traditional(base, out)
        result, cfg, O, case = res.best_result, base, res.best_O, res.case
        row["generated"] = ""
        wall = res.candidates[0]["wall_s"]
    elif method == "proposed":
        if tuned is None:
            raise ValueError("a proposed run needs its cell's tuning result (tuned=...)")
        comp = compile_candidate(base, tuned["values"])
        if not comp.ok:
            raise ValueError(f"the tuned values do not apply to {base['name']} seed {seed}: {comp.reason}")
        cfg = configmod.validate(dict(comp.config, name=base["name"]))
        outcome = ns3_runner.run_scenario(cfg, out / "eval", bridge=False)
        result, wall = outcome.result, outcome.wall_s
        O, _ = objective.score_result(result, tuned["weights"], float(cfg["network"]["deadline_ms"]))
        case = tuned["case"]
        row["generated"] = json.dumps(current_values(cfg), sort_keys=True)
        row["tuning_seed"] = tuned["tuning_seed"]
    else:
        raise ValueError(f"method = {method!r}: allowed: traditional, proposed")
    row.update(_metrics(result), O=O, case=case, config_hash=configmod.config_hash(cfg),
               ns3_runs=1, ns3_wall_s=wall, simulated_s=result["run"]["simulated_s"])
    return row


def tune_cell(topology: str, scenario: str, ul_activity: float, tuning_seed: int, duration_s: float,
              warmup_s: float, drain_s: float, k: int, iterations: int, out_dir: str,
              llm_url: str | None = None, llm_model: str | None = None) -> dict:
    """Phase 1's tuning task: the closed loop on the cell's config at the tuning seed.
    Returns what phase 2 and fig2_tuning.csv need (the chosen values and config, O, case, weights)."""
    from generators import closed_loop
    from generators.generation_schema import current_values
    from generators.llm_client import LLMClient

    base = scenario_config(topology, scenario, ul_activity, tuning_seed, duration_s, warmup_s, drain_s)
    out = Path(out_dir)
    client = LLMClient(llm_url, llm_model, audit_path=out / "generations.jsonl")
    res = closed_loop.proposed(base, out / "loop", client, k=k, iterations=iterations, workers=1)
    values = current_values(res.best_config)
    llm_rows = [r for r in res.candidates if r["source"] == "llm"]
    ran = [r for r in res.candidates if r["status"] == "ran"]
    return {"topology": topology, "scenario": scenario, "ul_activity": ul_activity, "method": "tune",
            "tuning_seed": tuning_seed, "values": values, "generated": json.dumps(values, sort_keys=True),
            "best_config": res.best_config, "config_hash": configmod.config_hash(res.best_config),
            "O": res.best_O, "O_base": res.best_O_per_iteration[0], "best_O_per_iteration": res.best_O_per_iteration,
            "base_chosen": values == current_values(base), "case": res.case, "weights": res.weights,
            "candidates": len(llm_rows), "duplicates": sum(r["status"] == "duplicate" for r in llm_rows),
            "invalid": sum(r["status"] in ("invalid_output", "rejected", "run_failed") for r in llm_rows),
            "tuning_stability": stability(res.best_result["throughput_series"]["bps"]),
            "ns3_runs": len(ran), "ns3_wall_s": sum(r["wall_s"] or 0 for r in ran),
            "simulated_s": len(ran) * res.best_result["run"]["simulated_s"],
            "llm_s": res.llm_stats.get("request_s"), "llm": res.llm_stats}


def _cell_params(profile: dict, topology: str, scenario: str, act: float) -> dict:
    return {"topology": topology, "scenario": scenario, "ul_activity": act,
            "duration_s": profile["duration_s"][topology], "warmup_s": profile["warmup_s"],
            "drain_s": profile["drain_s"]}


def _run_dir(out: Path, key: str) -> str:
    return str(out / "runs" / key.split(":")[1])


def phase1_tasks(profile: dict, out: Path, llm_url: str | None, llm_model: str | None,
                 methods=("traditional", "proposed")) -> list[Task]:
    """The traditional runs and, for the proposed method, one tuning task per (topology, cell);
    longest first (by the planning estimate), so the phase's tail is short on few workers."""
    tasks = []
    ts = tuning_seed(profile)
    for g in grid(topology=profile["topologies"], cell=CELLS):
        topology, (scenario, act) = g["topology"], g["cell"]
        cell = _cell_params(profile, topology, scenario, act)
        if "proposed" in methods:
            params = dict(cell, method="tune", tuning_seed=ts, k=_per_topology(profile["k"], topology),
                          iterations=_per_topology(profile["iterations"], topology), llm_model=llm_model or "")
            key = task_key("fig2", params)
            call = {k: v for k, v in params.items() if k not in ("method", "llm_model")}
            tasks.append(Task(key, "experiments.fig2:tune_cell",
                              dict(call, out_dir=_run_dir(out, key), llm_url=llm_url, llm_model=llm_model),
                              f"{topology} {scenario}@{act:.2f} tune seed {ts}"))
        if "traditional" in methods:
            for seed in profile["seeds"]:
                params = dict(cell, method="traditional", seed=seed)
                key = task_key("fig2", params)
                tasks.append(Task(key, "experiments.fig2:run_cell", dict(params, out_dir=_run_dir(out, key)),
                                  f"{topology} {scenario}@{act:.2f} traditional seed {seed}"))
    cost = {t.key: _task_cost_s(t.params, profile, PLANNING_RATES) for t in tasks}
    return sorted(tasks, key=lambda t: -cost[t.key])


def phase2_tasks(profile: dict, out: Path, tunes: dict[str, dict], phase1: list[Task]) -> tuple[list[Task], list[Task]]:
    """The proposed runs of every tuned cell, on every evaluation seed. tunes: key -> stored
    tuning result. Returns (tasks, tuning tasks without a result)."""
    tasks, missing = [], []
    for t in phase1:
        if not t.func.endswith(":tune_cell"):
            continue
        tuned = tunes.get(t.key)
        if tuned is None:
            missing.append(t)
            continue
        p = t.params
        cell = {k: p[k] for k in ("topology", "scenario", "ul_activity", "duration_s", "warmup_s", "drain_s")}
        for seed in profile["seeds"]:
            params = dict(cell, method="proposed", seed=seed, tune_key=t.key)
            key = task_key("fig2", params)
            tasks.append(Task(key, "experiments.fig2:run_cell",
                              dict(params, out_dir=_run_dir(out, key),
                                   tuned={k: tuned[k] for k in ("values", "weights", "case", "tuning_seed")}),
                              f"{p['topology']} {p['scenario']}@{p['ul_activity']:.2f} proposed seed {seed}"))
    cost = {t.key: _task_cost_s(t.params, profile, PLANNING_RATES) for t in tasks}
    return sorted(tasks, key=lambda t: -cost[t.key]), missing


def _task_cost_s(params: dict, profile: dict, rates: dict) -> float:
    """Estimated core-seconds of one task: ns-3 runs at the topology's rate plus start-up; a
    tuning task counts every candidate as a fresh run (no duplicates) plus its LLM time."""
    topo = params["topology"]
    sim_s = profile["warmup_s"] + profile["duration_s"][topo] + profile["drain_s"]
    run_s = rates["wall_per_sim_s"][topo] * sim_s + rates["startup_s"].get(topo, 0.0)
    if "k" not in params:
        return run_s
    candidates = params["k"] * params["iterations"]
    return run_s * (rates.get("bridged_factor", 1.0) + candidates) + candidates * rates["llm_s_per_candidate"]


def _makespan(costs: list[float], workers: int) -> float:
    """Wall time of a list of tasks on `workers` workers, longest first (as the executor gets them)."""
    loads = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c
    return max(loads)


def estimate_profile_s(profile: dict | str, rates: dict | None = None, workers: int = 2,
                       methods=("traditional", "proposed")) -> dict:
    """Estimated cost of a fig2 profile: ns-3 runs, core-seconds and wall seconds on `workers`.

    rates: like PLANNING_RATES (wall_per_sim_s and startup_s per topology, llm_s_per_candidate,
    bridged_factor, llm_startup_s); missing keys come from PLANNING_RATES. Worst case for the
    loop: every candidate is valid and new (duplicates and invalid outputs only make it cheaper).
    Wall = phase 1 makespan + phase 2 makespan (longest task first) + the LLM server's start-up.
    """
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    r = dict(PLANNING_RATES, **(rates or {}))
    r["wall_per_sim_s"] = dict(PLANNING_RATES["wall_per_sim_s"], **(rates or {}).get("wall_per_sim_s", {}))
    r["startup_s"] = dict(PLANNING_RATES["startup_s"], **(rates or {}).get("startup_s", {}))
    phase1 = phase1_tasks(prof, Path("/nonexistent"), None, None, methods)
    fake_tunes = {t.key: {"values": {}, "weights": {}, "case": "", "tuning_seed": 0}
                  for t in phase1 if t.func.endswith(":tune_cell")}
    phase2, _ = phase2_tasks(prof, Path("/nonexistent"), fake_tunes, phase1) if "proposed" in methods else ([], [])
    by_topology: dict[str, dict] = {}
    costs = []
    for phase in (phase1, phase2):
        c = [_task_cost_s(t.params, prof, r) for t in phase]
        costs.append(c)
        for t, ci in zip(phase, c):
            p = t.params
            runs = 1 + p["k"] * p["iterations"] if "k" in p else 1
            b = by_topology.setdefault(p["topology"], {"ns3_runs": 0, "core_s": 0.0})
            b["ns3_runs"] += runs
            b["core_s"] += ci
    llm_startup = r["llm_startup_s"] if "proposed" in methods else 0.0
    p1, p2 = _makespan(costs[0], workers), _makespan(costs[1], workers)
    core = sum(map(sum, costs))
    return {"profile": profile if isinstance(profile, str) else None, "rates": r["source"], "workers": workers,
            "tasks": len(phase1) + len(phase2), "ns3_runs": sum(b["ns3_runs"] for b in by_topology.values()),
            "core_s": round(core, 1), "wall_s": round(p1 + p2 + llm_startup, 1),
            "phase1_wall_s": round(p1, 1), "phase2_wall_s": round(p2, 1), "llm_startup_s": llm_startup,
            "by_topology": {t: {"ns3_runs": b["ns3_runs"], "core_s": round(b["core_s"], 1)}
                            for t, b in by_topology.items()}}


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
        if r.get("method") == "tune":
            return (f"O {r['O_base']:.3f} -> {r['O']:.3f} ({'base kept' if r['base_chosen'] else 'new values'}), "
                    f"{r['ns3_runs']} ns-3 runs")
        return f"stability {r['stability']:.3f}, {r['mean_throughput_bps'] / 1e3:.1f} kb/s, O={r['O']:.3f}"

    def go(llm_url, llm_model):
        executor = executor_for(args.scheduler, args.workers)
        phase1 = phase1_tasks(profile, out, llm_url, llm_model, methods)
        c1 = camp.run_missing(phase1, executor, Dashboard("fig2 phase 1 (traditional, tuning)", summary_text,
                                                          quiet=args.quiet))
        phase2, untuned = [], []
        if "proposed" in methods:
            tunes = camp.results(t.key for t in phase1 if t.func.endswith(":tune_cell"))
            phase2, untuned = phase2_tasks(profile, out, tunes, phase1)
        c2 = camp.run_missing(phase2, executor, Dashboard("fig2 phase 2 (proposed)", summary_text, quiet=args.quiet))
        return phase1, phase2, untuned, c1, c2

    if "proposed" in methods:
        from generators.llm_server import endpoint

        with endpoint(args.llm_url, args.llm_model) as ep:
            phase1, phase2, untuned, c1, c2 = go(ep.url, ep.model)
    else:
        phase1, phase2, untuned, c1, c2 = go(None, None)
    keys = {t.key for t in phase1 + phase2}
    df = camp.to_dataframe()
    df = df[df["key"].isin(keys)] if len(df) else df
    tuning = df[df["method"] == "tune"] if len(df) else df
    df = df[df["method"] != "tune"] if len(df) else df
    cols = CSV_COLUMNS + [c for c in EXTRA_COLUMNS if c in df.columns]
    df = df[cols].sort_values(["topology", "scenario", "ul_activity", "method", "seed"]) if len(df) else pd.DataFrame(columns=cols)
    df.to_csv(out / "fig2.csv", index=False)
    if "proposed" in methods:
        tcols = [c for c in TUNING_COLUMNS if c in tuning.columns] if len(tuning) else TUNING_COLUMNS
        tuning = (tuning[tcols].sort_values(["topology", "scenario", "ul_activity"]) if len(tuning)
                  else pd.DataFrame(columns=tcols))
        tuning.to_csv(out / "fig2_tuning.csv", index=False)
    summary = summarize(df) if len(df) else pd.DataFrame(columns=SUMMARY_COLUMNS)
    summary.to_csv(out / "fig2_summary.csv", index=False)
    if len(df):
        plot(df, summary, out / "fig2.png")
    failed = camp.failures()
    failed = failed[failed["key"].isin(keys)] if len(failed) else failed
    counts = {k: c1[k] + c2[k] for k in ("done", "skipped", "failed")}
    print(f"fig2: {counts['done']} ran, {counts['skipped']} skipped (already done), {counts['failed']} failed")
    print(f"fig2: phase 1 (traditional runs, tuning loops): {c1['done']} ran, {c1['skipped']} skipped, "
          f"{c1['failed']} failed; phase 2 (proposed runs): {c2['done']} ran, {c2['skipped']} skipped, "
          f"{c2['failed']} failed")
    if untuned:
        print(f"fig2: {len(untuned) * len(profile['seeds'])} proposed runs not started: the tuning of "
              + ", ".join(t.label for t in untuned) + " failed")
    print(f"fig2: {len(df)} runs in {out / 'fig2.csv'}; {len(failed)} failed"
          + (f" (see {out / 'campaign.sqlite'}, table runs)" if len(failed) else ""))
    print(f"fig2: summary {out / 'fig2_summary.csv'}; figure {out / 'fig2.png'}"
          + (f"; tuning {out / 'fig2_tuning.csv'}" if "proposed" in methods else ""))
    if len(summary):
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(summary[["topology", "scenario", "improvement_pct", "ci_low", "ci_high", "n_pairs"]]
                  .to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    camp.close()
    return 0 if len(failed) == 0 and not untuned else 1
