"""`bench fig`: a Fig. 2 campaign timed through the CLI's code path, its stock estimate, and the campaign layer
against a plain process pool."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.campaign import Campaign, LocalExecutor, Task
from gaidt.config import REPO

from .. import fig2
from ..fig2 import PLANNING_RATES
from .runs import _cfg


def _overhead_probe(cfg: dict, out_dir: str) -> dict:
    """A campaign task that is one ns-3 run and nothing else (bench_campaign_overhead)."""
    o = ns3_runner.run_scenario(cfg, out_dir, bridge=False)
    return {"wall_s": o.wall_s, "goodput_bps": o.result["totals"]["goodput_bps"]}


def bench_campaign_overhead(n_runs: int = 8, topology: str = "small", duration_s: float = 1.0, workers: int = 2,
                            repeats: int = 2, progress=None) -> dict:
    """The same n_runs ns-3 runs (seeds 1..n_runs) through Campaign.run_missing with
    LocalExecutor(workers) and through a plain ProcessPoolExecutor(workers) calling
    ns3_runner.run_scenario, alternated `repeats` times; best wall of each, and their ratio."""
    cfgs = [configmod.validate(dict(_cfg(topology, duration_s, False), seed=s)) for s in range(1, n_runs + 1)]
    walls = {"plain": [], "campaign": []}
    ns3 = {"plain": [], "campaign": []}
    failed = 0
    for rep in range(repeats):
        with tempfile.TemporaryDirectory(prefix="gaidt-bench-campaign-") as d:
            d = Path(d)
            if progress:
                progress(f"campaign overhead: {n_runs} {topology} runs, plain process pool ({rep + 1}/{repeats})")
            t0 = time.monotonic()
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(ns3_runner.run_scenario, c, d / "plain" / str(i), bridge=False)
                           for i, c in enumerate(cfgs)]
                ns3["plain"].append(sum(f.result().wall_s for f in futures))
            walls["plain"].append(time.monotonic() - t0)
            if progress:
                progress(f"campaign overhead: the same runs through Campaign.run_missing ({rep + 1}/{repeats})")
            camp = Campaign(d / "campaign.sqlite", "bench")
            tasks = [Task(f"bench:{rep}-{i}", "experiments.bench.campaign:_overhead_probe",
                          {"cfg": c, "out_dir": str(d / "campaign" / str(i))}, f"run {i}") for i, c in enumerate(cfgs)]
            t0 = time.monotonic()
            counts = camp.run_missing(tasks, LocalExecutor(workers))
            walls["campaign"].append(time.monotonic() - t0)
            ns3["campaign"].append(sum(r["wall_s"] for r in camp.results(t.key for t in tasks).values()))
            failed += counts["failed"]
            camp.close()
    plain, campaign = min(walls["plain"]), min(walls["campaign"])
    return {"runs": n_runs, "topology": topology, "duration_s": duration_s, "workers": workers, "repeats": repeats,
            "plain_pool_wall_s": [round(w, 3) for w in walls["plain"]],
            "campaign_wall_s": [round(w, 3) for w in walls["campaign"]],
            "ns3_wall_sum_s": {k: [round(w, 3) for w in v] for k, v in ns3.items()},
            "ratio_campaign_vs_plain": round(campaign / plain, 3),
            "overhead_s_per_run": round((campaign - plain) / n_runs, 4), "failed": failed,
            "campaign_is_bottleneck": campaign > 1.1 * plain}


def sim_rates(sim_rows: list[dict] | None, variant: str = "fast") -> dict | None:
    """estimate_profile_s rates from `bench sim` rows (their wall per simulated s already includes
    the process start-up, so startup_s is 0); None without rows. Topologies not measured keep the
    planning figures, and the source says so."""
    if not sim_rows:
        return None

    measured = {r["topology"]: r[variant]["wall_per_sim_s"] for r in sim_rows if r["topology"] in
                PLANNING_RATES["wall_per_sim_s"] and r.get(variant)}
    if not measured:
        return None
    rest = [t for t in PLANNING_RATES["wall_per_sim_s"] if t not in measured]
    source = f"bench sim {variant}" + (f"; planning figures for {', '.join(rest)}" if rest else "")
    return {"source": source, "wall_per_sim_s": measured, "startup_s": {t: 0.0 for t in measured},
            "complete": not rest}


def bench_fig(profile: str = "default", workers: int | None = None, sim_rows: list[dict] | None = None,
              llm_url=None, llm_model=None, llm_api_key=None, overhead_runs: int = 8, progress=None,
              out_dir: str | None = None) -> dict:
    """`run.py fig2` with `profile` in a temporary folder, through run.py's own main(); then
    what its campaign database says, the --full estimate and the campaign-overhead check."""
    n_workers = workers or os.cpu_count() or 1
    with (contextlib.nullcontext(out_dir) if out_dir else tempfile.TemporaryDirectory(prefix="gaidt-bench-fig2-")) as d:
        argv = ["fig2", "--out", d, "--quiet"] + (["--full"] if profile == "full" else ["--profile", profile])
        argv += ["--workers", str(workers)] if workers else []
        for flag, value in (("--llm-url", llm_url), ("--llm-model", llm_model), ("--llm-api-key", llm_api_key)):
            argv += [flag, value] if value else []
        if progress:
            progress(f"fig: run.py {' '.join(argv)}")
        t0 = time.monotonic()
        with contextlib.redirect_stdout(sys.stderr):  # fig2's report goes to stderr; --json stays clean
            # the command line as a user runs it (a child process: run.py imports this module)
            rc = subprocess.run([sys.executable, str(REPO / "experiments" / "run.py"), *argv], stdout=sys.stderr,
                                stderr=sys.stderr, timeout=4 * 3600).returncode
        wall = time.monotonic() - t0
        camp = Campaign(Path(d) / "campaign.sqlite", "fig2")
        rows = camp.db.execute("SELECT status, result_json, wall_s FROM runs WHERE figure='fig2'").fetchall()
        camp.close()
    done = [json.loads(r) for st, r, _ in rows if st == "done"]
    sim_s: dict[str, float] = {}
    ns3_wall: dict[str, float] = {}
    for r in done:
        sim_s[r["topology"]] = sim_s.get(r["topology"], 0.0) + r["simulated_s"]
        ns3_wall[r["topology"]] = ns3_wall.get(r["topology"], 0.0) + r["ns3_wall_s"]
    ns3_sum = sum(ns3_wall.values())
    out = {"profile": profile, "workers": n_workers, "exit_code": rc, "wall_s": round(wall, 1),
           "tasks": len(rows), "failed_tasks": sum(st != "done" for st, _, _ in rows),
           "tuning_tasks": sum(r.get("method") == "tune" for r in done),
           "ns3_runs": sum(r["ns3_runs"] for r in done), "ns3_wall_sum_s": round(ns3_sum, 1),
           "task_wall_sum_s": round(sum(w or 0 for _, _, w in rows), 1),
           "llm_s": round(sum(r.get("llm_s") or 0 for r in done), 1),
           "simulated_s": {t: round(v, 2) for t, v in sim_s.items()},
           "observed_wall_per_sim_s": {t: round(ns3_wall[t] / v, 3) for t, v in sim_s.items() if v},
           "estimate_of_this_profile": fig2.estimate_profile_s(profile, sim_rates(sim_rows), n_workers)}
    out["full_estimate"] = fig2.estimate_profile_s("full", sim_rates(sim_rows), n_workers)
    out["stock"] = fig_stock_estimate(out, sim_rows)
    out["campaign_overhead"] = bench_campaign_overhead(n_runs=overhead_runs, workers=n_workers, progress=progress)
    return out


def fig_stock_estimate(fig: dict, sim_rows: list[dict] | None) -> dict:
    """The same campaign with ns-3's stock knobs, estimated: the measured wall plus the extra ns-3
    core time (the campaign's simulated seconds per topology x stock minus measured rate), spread
    over the workers. Needs `bench sim` stock rates for every topology the campaign ran."""
    stock = sim_rates(sim_rows, "stock")
    sim_s, ns3_sum, wall, n = fig["simulated_s"], fig["ns3_wall_sum_s"], fig["wall_s"], fig["workers"]
    if not (stock and all(t in stock["wall_per_sim_s"] for t in sim_s)):
        return {"estimate": True, "wall_s": None, "note": "needs `bench sim` stock rates for "
                + ", ".join(sorted(sim_s)) + " (same invocation, or `bench goals --from`)"}
    stock_core = sum(v * stock["wall_per_sim_s"][t] for t, v in sim_s.items())
    stock_wall = wall + (stock_core - ns3_sum) / n
    return {"estimate": True, "rates": stock["source"], "ns3_core_s": round(stock_core, 1),
            "wall_s": round(stock_wall, 1), "ratio_wall_vs_stock": round(wall / stock_wall, 3),
            "ratio_ns3_core_vs_stock": round(ns3_sum / stock_core, 3) if stock_core else None}
