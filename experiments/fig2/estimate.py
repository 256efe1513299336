"""The planned wall time of a Fig. 2 profile: its task lists costed at the planning rates and packed onto the
workers."""
from __future__ import annotations

from pathlib import Path

from .plan import METHODS, PLANNING_RATES, PROFILES, TUNED_ARMS, _task_cost_s, _task_runs
from .tasks import phase1_tasks, phase2_tasks


def _makespan(costs: list[float], workers: int) -> float:
    """Wall time of a list of tasks on `workers` workers, longest first (as the executor gets them)."""
    loads = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c
    return max(loads)


def estimate_profile_s(profile: dict | str, rates: dict | None = None, workers: int = 2, methods=METHODS) -> dict:
    """Estimated cost of a fig2 profile: ns-3 runs, core-seconds and wall seconds on `workers`.

    rates: like PLANNING_RATES (wall_per_sim_s and startup_s per topology, llm_s_per_candidate,
    bridged_factor, llm_startup_s, new_config_share); missing keys come from PLANNING_RATES.
    ``wall_s`` is the worst case: every candidate is valid and new, and every arm's every tuning
    seed picks its own new config for phase 2 (duplicates, kept base configs and invalid outputs only
    make it cheaper). ``wall_s_expected`` counts only ``new_config_share`` of phase 2's worst-case
    runs (the share of tuned choices that needed a run of their own in the last measured campaign):
    in practice most loops keep the base config, whose evaluation is the traditional run.
    Wall = phase 1 makespan + phase 2 makespan (longest task first) + the LLM server's start-up.
    """
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    r = dict(PLANNING_RATES, **(rates or {}))
    r["wall_per_sim_s"] = dict(PLANNING_RATES["wall_per_sim_s"], **(rates or {}).get("wall_per_sim_s", {}))
    r["startup_s"] = dict(PLANNING_RATES["startup_s"], **(rates or {}).get("startup_s", {}))
    phase1 = phase1_tasks(prof, Path("/nonexistent"), None, None, methods)
    arms = [m for m in TUNED_ARMS if m in methods]
    fake_tunes = {t.key: {"arms": {a: {"values": {"arm": a, "tuning_seed": t.params["tuning_seed"]}} for a in arms}}
                  for t in phase1 if t.func.endswith(":tune_cell")}
    phase2, _ = phase2_tasks(prof, Path("/nonexistent"), fake_tunes, phase1)
    by_topology: dict[str, dict] = {}
    costs = []
    for phase in (phase1, phase2):
        c = [_task_cost_s(t.params, prof, r) for t in phase]
        costs.append(c)
        for t, ci in zip(phase, c):
            b = by_topology.setdefault(t.params["topology"], {"ns3_runs": 0, "core_s": 0.0})
            b["ns3_runs"] += _task_runs(t.params)
            b["core_s"] += ci
    llm_startup = r["llm_startup_s"] if "proposed" in methods else 0.0
    p1, p2 = _makespan(costs[0], workers), _makespan(costs[1], workers)
    share = float(r.get("new_config_share", 1.0))
    p2_expected = share * sum(costs[1]) / max(1, workers)  # a share of the runs: no longest task to wait for
    core = sum(map(sum, costs))
    return {"profile": profile if isinstance(profile, str) else None, "rates": r["source"], "workers": workers,
            "tasks": len(phase1) + len(phase2), "ns3_runs": sum(b["ns3_runs"] for b in by_topology.values()),
            "core_s": round(core, 1), "wall_s": round(p1 + p2 + llm_startup, 1),
            "phase1_wall_s": round(p1, 1), "phase2_wall_s": round(p2, 1), "llm_startup_s": llm_startup,
            "new_config_share": share, "wall_s_expected": round(p1 + p2_expected + llm_startup, 1),
            "by_topology": {t: {"ns3_runs": b["ns3_runs"], "core_s": round(b["core_s"], 1)}
                            for t, b in by_topology.items()}}
