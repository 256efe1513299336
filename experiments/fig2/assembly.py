"""The Fig. 2 tables from the campaign's results: per-run rows, tuning and candidate rows, the per-cell summary
with CIs, and the observed simulation rates."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from gaidt.campaign import Task
from gaidt.stats import mean_ci, paired_change
from generators import objective

from .plan import METHODS, PAPER_IMPROVEMENT_PCT, TUNED_ARMS, cell_weights, tuning_seed
from .tasks import _base_values, _cell_params, _cells, eval_task

SUMMARY_COLUMNS = ["topology", "scenario", "improvement_pct", "ci_low", "ci_high", "method", "activity", "n_pairs",
                   "tuning_seeds", "stability_traditional", "stability_method", "stability_100ms_change_pct",
                   "O_traditional", "O_method", "O_change", "O_change_ci_low", "O_change_ci_high",
                   "d_traditional", "d_method", "l_ms_traditional", "l_ms_method",
                   "goodput_ratio_traditional", "goodput_ratio_method",
                   "ns3_runs", "llm_calls", "tuning_wall_s", "paper_improvement_pct"]


CSV_COLUMNS = ["topology", "scenario", "method", "seed", "stability", "mean_throughput_bps"]


EXTRA_COLUMNS = ["ul_activity", "tuning_seed", "stability_100ms", "offered_bps", "peak_window_bps", "gateways",
                 "goodput_ratio", "O", "case",
                 "rho", "d", "l_ms", "l_p95_ms", "l_network_ms", "late_ratio", "alpha", "config_hash",
                 "generated", "key", "ns3_wall_s", "simulated_s"]


TUNING_COLUMNS = ["topology", "scenario", "ul_activity", "method", "tuning_seed", "case", "O_base", "O",
                  "base_chosen", "generated", "candidates", "duplicates", "invalid", "ns3_runs", "llm_calls",
                  "wall_s", "best_O_by_run", "key"]


CANDIDATE_COLUMNS = ["topology", "scenario", "ul_activity", "method", "tuning_seed", "iteration", "index", "status",
                     "reason", "values", "O", "rho", "d", "l_ms", "alpha"]


def _O(row: dict, weights: dict) -> float:
    return objective.objective({q: row[f"T_{q}"] for q in objective.KPIS}, weights)


def assemble(profile: dict, phase1: list[Task], results: dict[str, dict], methods=METHODS) -> dict[str, pd.DataFrame]:
    """fig2.csv, fig2_tuning.csv and fig2_candidates.csv as data frames, from the stored results."""
    runs, tuning, cands = [], [], []
    out = Path("/nonexistent")
    for topology, scenario, act in _cells(profile):
        cell = _cell_params(profile, topology, scenario, act)
        case, weights = cell_weights(topology, scenario, act, tuning_seed(profile))
        base_values = _base_values(cell)
        where = {"topology": topology, "scenario": scenario, "ul_activity": act}

        def run_row(method, seed, values, ts=None):
            t = eval_task(out, cell, seed, values, "")
            r = results.get(t.key)
            if r is None:
                return None
            row = dict(r, method=method, seed=seed, key=t.key, O=_O(r, weights), case=case)
            row["tuning_seed"] = ts
            return row

        for seed in profile["seeds"]:
            if (r := run_row("traditional", seed, None)) is not None:
                runs.append(r)
        for t in phase1:
            p = t.params
            if not t.func.endswith(":tune_cell") or (p["topology"], p["scenario"], p["ul_activity"]) != (
                    topology, scenario, act):
                continue
            tuned = results.get(t.key)
            if tuned is None:
                continue
            for arm, a in tuned["arms"].items():
                if arm not in methods:
                    continue
                tuning.append(dict(where, method=arm, tuning_seed=p["tuning_seed"], case=tuned["case"],
                                   key=t.key, best_O_by_run=json.dumps(a["best_O_by_run"]),
                                   **{c: a[c] for c in ("O_base", "O", "base_chosen", "generated", "candidates",
                                                        "duplicates", "invalid", "ns3_runs", "llm_calls", "wall_s")}))
                for c in a["candidate_rows"]:
                    cands.append(dict(where, method=arm, tuning_seed=p["tuning_seed"], **c))
                values = None if a["values"] == base_values else a["values"]
                for seed in profile["seeds"]:
                    if (r := run_row(arm, seed, values, p["tuning_seed"])) is not None:
                        runs.append(r)
    df = pd.DataFrame(runs)
    cols = CSV_COLUMNS + EXTRA_COLUMNS
    df = (df.reindex(columns=cols).sort_values(["topology", "scenario", "ul_activity", "method", "seed", "tuning_seed"])
          if len(df) else pd.DataFrame(columns=cols))
    df["tuning_seed"] = df["tuning_seed"].astype("Int64")  # empty for traditional rows
    tdf = pd.DataFrame(tuning).reindex(columns=TUNING_COLUMNS) if tuning else pd.DataFrame(columns=TUNING_COLUMNS)
    cdf = pd.DataFrame(cands).reindex(columns=CANDIDATE_COLUMNS) if cands else pd.DataFrame(columns=CANDIDATE_COLUMNS)
    return {"fig2": df.reset_index(drop=True), "tuning": tdf, "candidates": cdf}


def summarize(df: pd.DataFrame, tuning: pd.DataFrame | None = None) -> pd.DataFrame:
    """fig2_summary.csv: per cell (topology, scenario, activity) and tuned arm, the mean per-seed
    change of stability (and of O) against the traditional run of the same seed, with 95% CIs."""
    rows = []
    for (topo, scen, act), g in df.groupby(["topology", "scenario", "ul_activity"], sort=False):
        trad = g[g.method == "traditional"].set_index("seed")
        for method in [m for m in TUNED_ARMS if m in set(g.method)]:
            arm = g[g.method == method].groupby("seed")[["stability", "stability_100ms", "O", "d", "l_ms",
                                                         "goodput_ratio"]].mean()
            seeds = [s for s in arm.index if s in trad.index]
            if not seeds:
                continue
            a, t = arm.loc[seeds], trad.loc[seeds]
            imp, lo, hi, n = paired_change(a["stability"], t["stability"])
            imp100, _, _, _ = paired_change(a["stability_100ms"], t["stability_100ms"])
            dO, dlo, dhi = mean_ci((a["O"] - t["O"]).tolist())
            budget = {"ns3_runs": math.nan, "llm_calls": math.nan, "tuning_wall_s": math.nan, "tuning_seeds": math.nan}
            if tuning is not None and len(tuning):
                tb = tuning[(tuning.topology == topo) & (tuning.scenario == scen) & (tuning.ul_activity == act)
                            & (tuning.method == method)]
                if len(tb):
                    budget = {"ns3_runs": tb.ns3_runs.mean(), "llm_calls": tb.llm_calls.mean(),
                              "tuning_wall_s": tb.wall_s.mean(), "tuning_seeds": len(tb)}
            rows.append({"topology": topo, "scenario": scen, "improvement_pct": imp, "ci_low": lo, "ci_high": hi,
                         "method": method, "activity": act, "n_pairs": n,
                         "stability_traditional": t["stability"].mean(), "stability_method": a["stability"].mean(),
                         "stability_100ms_change_pct": imp100,
                         "O_traditional": t["O"].mean(), "O_method": a["O"].mean(), "O_change": dO,
                         "O_change_ci_low": dlo, "O_change_ci_high": dhi,
                         "d_traditional": t["d"].mean(), "d_method": a["d"].mean(),
                         "l_ms_traditional": t["l_ms"].mean(), "l_ms_method": a["l_ms"].mean(),
                         "goodput_ratio_traditional": t["goodput_ratio"].mean(),
                         "goodput_ratio_method": a["goodput_ratio"].mean(),
                         **budget, "paper_improvement_pct": PAPER_IMPROVEMENT_PCT})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def observed_rates(df: pd.DataFrame) -> dict:
    """Wall seconds of ns-3 per simulated second per topology, over the distinct evaluation runs of a
    fig2.csv frame (a run shared by several arms counts once): what PLANNING_RATES should not undercut."""
    if not len(df) or "ns3_wall_s" not in df or df["ns3_wall_s"].isna().all():
        return {}
    runs = df.dropna(subset=["ns3_wall_s", "simulated_s"]).drop_duplicates("key")
    g = runs.groupby("topology")[["ns3_wall_s", "simulated_s"]].sum()
    return {t: round(float(r.ns3_wall_s / r.simulated_s), 3) for t, r in g.iterrows() if r.simulated_s > 0}
