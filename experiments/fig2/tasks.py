"""The Fig. 2 campaign's tasks: one evaluation run of a cell (run_cell), one tuning loop of an arm (tune_cell),
and the two phases' task lists."""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.campaign import Task, grid, task_key
from gaidt.stats import period_series, stability
from generators import closed_loop, objective
from generators.compile import compile_candidate
from generators.generation_schema import current_values
from generators.llm_client import LLMClient

from .plan import (
    CELLS,
    METHODS,
    PLANNING_RATES,
    TUNED_ARMS,
    _per_topology,
    _task_cost_s,
    scenario_config,
    tuning_seed,
    tuning_seeds,
)


def run_metrics(result: dict, report_period_s: float) -> dict:
    """fig2.csv's measured columns of one result.json."""
    tot, k = result["totals"], result["kpis"]
    series = result["throughput_series"]
    return {"stability": stability(period_series(series["bps"], series["window_s"], report_period_s)),
            "stability_100ms": stability(period_series(series["bps"], series["window_s"], 0.1)),
            "mean_throughput_bps": tot["goodput_bps"], "offered_bps": tot["offered_bps"],
            "peak_window_bps": max(series["bps"], default=0.0), "gateways": result["gateways_total"],
            "goodput_ratio": tot["goodput_bps"] / tot["offered_bps"] if tot["offered_bps"] else math.nan,
            "rho": k["rho"], "d": k["d"], "l_ms": k["l"], "l_p95_ms": k.get("l_p95_ms"),
            "l_network_ms": k.get("l_network_ms"), "late_ratio": k.get("late_ratio"), "alpha": k["alpha"]}


def run_cell(topology: str, scenario: str, ul_activity: float, seed: int, duration_s: float,
             warmup_s: float, drain_s: float, out_dir: str, values: dict | None = None, **_ignored) -> dict:
    """One evaluation run (a campaign task): the cell's config on `seed`, with the generatable
    `values` applied (None: the config as it is, the traditional run). Returns its metrics."""
    base = scenario_config(topology, scenario, ul_activity, seed, duration_s, warmup_s, drain_s)
    cfg = base
    if values:
        comp = compile_candidate(base, values)
        if not comp.ok:
            raise ValueError(f"the tuned values do not apply to {base['name']} seed {seed}: {comp.reason}")
        cfg = configmod.validate(dict(comp.config, name=base["name"]))
    outcome = ns3_runner.run_scenario(cfg, Path(out_dir), bridge=False)
    result = outcome.result
    T = objective.kpi_scores(result, float(cfg["network"]["deadline_ms"]))
    row = {"topology": topology, "scenario": scenario, "ul_activity": ul_activity, "seed": seed, "method": "eval",
           "generated": json.dumps(current_values(cfg), sort_keys=True), "config_hash": configmod.config_hash(cfg)}
    row.update(run_metrics(result, cfg["traffic"]["report_period_s"]), **{f"T_{q}": v for q, v in T.items()},
               ns3_runs=1, ns3_wall_s=outcome.wall_s, simulated_s=result["run"]["simulated_s"])
    return row


def _best_by_run(rows: list[dict]) -> list[float]:
    """Best O so far after each ns-3 run the loop spent (the base run first)."""
    best, out = -math.inf, []
    for r in rows:
        if r["status"] == "ran" and r["O"] is not None:
            best = max(best, r["O"])
            out.append(best)
    return out


def tune_cell(topology: str, scenario: str, ul_activity: float, tuning_seed: int, weights_seed: int,
              duration_s: float, warmup_s: float, drain_s: float, k: int, iterations: int, out_dir: str,
              arms=TUNED_ARMS, llm_url: str | None = None, llm_model: str | None = None,
              llm_api_key: str | None = None) -> dict:
    """Phase 1's tuning task: every arm's loop on the cell's config at one tuning seed.

    The base config runs once (with the twin bridge) and every arm starts from that run's result;
    each arm then spends at most k new runs per iteration (its ns3_runs counts the base run too).
    Returns, per arm, the chosen values, the O reached, the budget (ns-3 runs, LLM calls, wall
    seconds) and every candidate.
    """
    base = scenario_config(topology, scenario, ul_activity, tuning_seed, duration_s, warmup_s, drain_s)
    out = Path(out_dir)
    base_outcome = closed_loop.run_base(base, out / "base")  # one base run, shared by every arm
    # the samplers' seed (random, tpe; the LLM's requests are seeded by the tuning seed): one per
    # (cell, tuning seed), the same for every arm, so cells do not share one sequence of draws
    arm_seed = int(hashlib.sha256(f"{topology}|{scenario}|{ul_activity}|{tuning_seed}".encode()).hexdigest()[:8], 16)
    res_arms, arm_rows, arm_llm_s = {}, {}, {}
    case = weights = None
    for arm in arms:
        client = None
        if arm == "proposed":
            client = LLMClient(llm_url, llm_model, llm_api_key, audit_path=out / "generations.jsonl",
                               seed=tuning_seed)
        res = closed_loop.search(base, out / arm, arm, client, k=k, iterations=iterations, seed=arm_seed,
                                 weights_seed=weights_seed, workers=1, base_outcome=base_outcome)
        case, weights = res.case, res.weights
        values = current_values(res.best_config)
        tuned = [r for r in res.candidates if r["source"] != "base"]
        arm_rows[arm], arm_llm_s[arm] = tuned, res.llm_stats.get("request_s")
        res_arms[arm] = {
            "values": values, "generated": json.dumps(values, sort_keys=True), "O": res.best_O,
            "O_base": res.best_O_per_iteration[0], "base_chosen": values == current_values(base),
            "candidates": len(tuned), "duplicates": sum(r["status"] == "duplicate" for r in tuned),
            "invalid": sum(r["status"] in ("invalid_output", "rejected", "run_failed") for r in tuned),
            "ns3_runs": res.runs_per_iteration[-1], "llm_calls": res.llm_requests, "wall_s": round(res.wall_s, 2),
            "best_O_by_run": _best_by_run(res.candidates),
            "candidate_rows": [{c: r.get(c) for c in ("iteration", "index", "status", "reason", "values", "O", "rho",
                                                      "d", "l_ms", "alpha")} for r in tuned],
        }
    llm_s = 0.0
    ns3_wall_s = base_outcome.wall_s
    for arm, a in res_arms.items():
        ns3_wall_s += sum(float(r.get("wall_s") or 0) for r in arm_rows[arm] if r["status"] == "ran")
        llm_s += float(arm_llm_s[arm] or 0)
    ns3_runs = 1 + sum(a["ns3_runs"] - 1 for a in res_arms.values())
    return {"topology": topology, "scenario": scenario, "ul_activity": ul_activity, "method": "tune",
            "tuning_seed": tuning_seed, "case": case, "weights": weights, "arms": res_arms,
            "ns3_runs": ns3_runs, "ns3_wall_s": ns3_wall_s, "llm_s": llm_s,
            "simulated_s": ns3_runs * base_outcome.result["run"]["simulated_s"]}


def _cell_params(profile: dict, topology: str, scenario: str, act: float) -> dict:
    return {"topology": topology, "scenario": scenario, "ul_activity": act,
            "duration_s": profile["duration_s"][topology], "warmup_s": profile["warmup_s"],
            "drain_s": profile["drain_s"]}


def _run_dir(out: Path, key: str) -> str:
    return str(out / "runs" / key.split(":")[1])


def _cells(profile: dict):
    """(topology, scenario, activity) of every cell of the profile (profile["cells"] may restrict a
    topology to some cells)."""
    for g in grid(topology=profile["topologies"], cell=CELLS):
        allowed = profile.get("cells", {}).get(g["topology"], CELLS)
        if tuple(g["cell"]) in {tuple(c) for c in allowed}:
            yield g["topology"], g["cell"][0], g["cell"][1]


def eval_task(out: Path, cell: dict, seed: int, values: dict | None, label: str) -> Task:
    """The evaluation run of (cell, seed, values); values None or equal to the base: traditional."""
    params = dict(cell, method="eval", seed=seed, values=values or None)
    key = task_key("fig2", params)
    return Task(key, "experiments.fig2:run_cell", dict(params, out_dir=_run_dir(out, key)), label)


def _base_values(cell: dict) -> dict:
    """The generatable values of a cell's config (they do not depend on the seed)."""
    return current_values(scenario_config(seed=1, **cell))


def phase1_tasks(profile: dict, out: Path, llm_url: str | None, llm_model: str | None,
                 methods=METHODS, llm_api_key: str | None = None) -> list[Task]:
    """The traditional runs and one tuning task per (topology, cell, tuning seed) for the tuned
    arms among `methods`; longest first (by the planning estimate)."""
    tasks = []
    arms = tuple(m for m in TUNED_ARMS if m in methods)
    ws = tuning_seed(profile)
    for topology, scenario, act in _cells(profile):
        cell = _cell_params(profile, topology, scenario, act)
        if arms:
            for ts in tuning_seeds(profile):
                params = dict(cell, method="tune", tuning_seed=ts, weights_seed=ws,
                              k=_per_topology(profile["k"], topology),
                              iterations=_per_topology(profile["iterations"], topology), arms=list(arms),
                              llm_model=(llm_model or "") if "proposed" in arms else "")
                key = task_key("fig2", params)
                call = {k: v for k, v in params.items() if k not in ("method", "llm_model")}
                tasks.append(Task(key, "experiments.fig2:tune_cell",
                                  dict(call, out_dir=_run_dir(out, key), llm_url=llm_url, llm_model=llm_model,
                                       llm_api_key=llm_api_key),
                                  f"{topology} {scenario}@{act:.2f} tune seed {ts}"))
        if "traditional" in methods or arms:  # the arms' gains are measured against it
            for seed in profile["seeds"]:
                tasks.append(eval_task(out, cell, seed, None, f"{topology} {scenario}@{act:.2f} traditional seed {seed}"))
    cost = {t.key: _task_cost_s(t.params, profile, PLANNING_RATES) for t in tasks}
    return sorted(tasks, key=lambda t: -cost[t.key])


def phase2_tasks(profile: dict, out: Path, tunes: dict[str, dict], phase1: list[Task]) -> tuple[list[Task], list[Task]]:
    """The evaluation runs of every tuned config on every evaluation seed, once per distinct
    (cell, seed, values); a config equal to the base is the traditional run (phase 1).
    tunes: key -> stored tuning result. Returns (tasks, tuning tasks without a result)."""
    tasks, missing, seen = [], [], {t.key for t in phase1}
    for t in phase1:
        if not t.func.endswith(":tune_cell"):
            continue
        tuned = tunes.get(t.key)
        if tuned is None:
            missing.append(t)
            continue
        p = t.params
        cell = {k: p[k] for k in ("topology", "scenario", "ul_activity", "duration_s", "warmup_s", "drain_s")}
        base_values = _base_values(cell)
        for arm, a in tuned["arms"].items():
            values = None if a["values"] == base_values else a["values"]
            for seed in profile["seeds"]:
                task = eval_task(out, cell, seed, values,
                                 f"{p['topology']} {p['scenario']}@{p['ul_activity']:.2f} {arm} seed {seed}")
                if task.key not in seen:
                    seen.add(task.key)
                    tasks.append(task)
    cost = {t.key: _task_cost_s(t.params, profile, PLANNING_RATES) for t in tasks}
    return sorted(tasks, key=lambda t: -cost[t.key]), missing
