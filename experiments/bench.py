"""Benchmarks: speed is measured here, never in tests.

  run.py bench sim     wall s and events per simulated second, stock vs fast
                       knobs side by side, for the example topologies
  run.py bench bridge  bridge overhead at twin.period_s 0.1 (large topology):
                       wall and CPU time (ns-3 process, in-process Python
                       subscriber) with vs without the twin, snapshot size,
                       Python-side node-attribute updates per second
  run.py bench fig     a Fig. 2 campaign (--fig-profile, default `default`) run
                       through the CLI's code path in a temporary folder: wall,
                       ns-3 runs, summed per-run wall, the --full estimate
                       (experiments.fig2.estimate_profile_s), an estimated stock
                       campaign time, and the campaign layer vs a plain process
                       pool on the same small runs
  run.py bench         sim, bridge and llm (fig too with --with-fig)
  run.py bench knob --topologies large --set sim.dl_ctrl_interference=per_cell,aggregate
                       one knob's values side by side (others fast): speed and
                       whether per-sensor results stay bit-identical
  run.py bench explore the Twin Explorer page of a large run (1000 sensors) in headless
                       Chromium: page load and scrub redraw times (experiments/explore_browser.py)
  run.py bench goals --from A.json B.json
                       no runs: the goals table recomputed from saved --json
                       outputs (e.g. sim rates from one, a timed --full from another)

--json prints one object; its "goals" list has one entry per issue-7 speed goal:
{goal, target, unit, measured, stock, ratio_vs_stock = measured / stock, met}
(None where the benchmark that measures it did not run in this invocation).

"stock" is the same scenario with ns-3's defaults for every speed knob, every
acceleration and approximation off (gaidt.knob_runs.STOCK_SIM: sim.event_scheduler=map,
ue_clock_gate=false, pf_idle_tti=false, spectrum_channel=multi_model,
dl_ctrl_interference=per_cell, allocator=system, cqi_period_ms=1, max_loss_db=0,
rlf_detection=true); "fast" is the schema's defaults (ns3-scenarios/README.md).
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from experiments.explore_browser import bench_explore
from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.campaign import Campaign, LocalExecutor, Task
from gaidt.config import REPO
from gaidt.digest import json_digest
from gaidt.errors import UsageError
from gaidt.knob_runs import STOCK_SIM
from gaidt_bridge.columns import GATEWAY_COLUMN_NAMES, SENSOR_COLUMN_NAMES
from gaidt_bridge.history import HistoryStore
from gaidt_bridge.protocol import NodeTable, decode, encode_snapshot
from gaidt_bridge.twin_graph import TwinGraph
from generators import bench_llm

from . import fig2
from .fig2 import PLANNING_RATES

DEFAULT_DURATION_S = {"small": 5.0, "medium": 2.0, "large": 0.5, "city": 0.1}
# Topologies whose stock run is not attempted: the city (10,000 sensors / 200 gateways) with ns-3's
# per-cell control frames would deliver ~2 million signals per millisecond.
NO_STOCK = {"city"}


def _cfg(topology: str, duration_s: float, stock: bool, power_saving: bool = False, **twin) -> dict:
    """The example topology as benchmarked: mMTC at 45% UL activity, power.mode always_on. power_saving
    drops the power section instead, so the radio's default applies (lte-m: psm)."""
    cfg = copy.deepcopy(configmod.example(topology))
    cfg["duration_s"] = duration_s
    cfg["traffic"]["service"] = "mmtc"
    cfg["traffic"]["ul_activity"] = 0.45
    if power_saving:
        cfg.pop("power", None)
    else:  # the city example does not pin it (it shows the radio's defaults)
        cfg.setdefault("power", {})["mode"] = "always_on"
    if stock:
        cfg["sim"].update(STOCK_SIM)
    cfg["twin"].update(twin)
    return configmod.validate(cfg)


def machine() -> dict:
    """This machine: host name, CPU model, cores, Python and ns-3 versions."""
    return {"machine": platform.node(), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "python": platform.python_version(), "ns3": ns3_runner.build_info().get("ns3_version")}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _cpu_s(who: int) -> float:
    u = resource.getrusage(who)
    return u.ru_utime + u.ru_stime


def _run(cfg: dict, bridge: bool) -> dict:
    """One run. CPU times: ns3_cpu_s is the ns-3 process's user+sys (RUSAGE_CHILDREN delta: it is the
    only child that ends meanwhile), python_cpu_s this process's (the subscriber, with the bridge)."""
    with tempfile.TemporaryDirectory(prefix="gaidt-bench-") as d:
        c0, p0 = _cpu_s(resource.RUSAGE_CHILDREN), _cpu_s(resource.RUSAGE_SELF)
        o = ns3_runner.run_scenario(cfg, d, bridge=bridge)
        c1, p1 = _cpu_s(resource.RUSAGE_CHILDREN), _cpu_s(resource.RUSAGE_SELF)
    r = o.result
    sim_s = r["run"]["simulated_s"]
    out = {"wall_s": round(r["run"]["wall_s"], 3), "simulated_s": sim_s,
           # building the scenario before Simulator::Run (not in wall_s)
           "setup_wall_s": round(r["run"]["setup_wall_s"], 3) if "setup_wall_s" in r["run"] else None,
           "wall_per_sim_s": round(r["run"]["wall_s"] / sim_s, 3),
           "events_per_sim_s": round(r["run"]["events"] / sim_s),
           "ns3_cpu_s": round(c1 - c0, 3), "python_cpu_s": round(p1 - p0, 3),
           "goodput_bps": r["totals"]["goodput_bps"], "sensors_attached": r["sensors_attached"],
           "sensors_digest": _sensors_digest(r)}
    phases = phase_rates(r)
    if phases:
        out["phases"] = phases
    if "bridge" in r:
        out["bridge"] = r["bridge"]
    return out


def phase_rates(result: dict) -> dict:
    """Per phase of a run (result.json run.phases: attach, traffic, drain): simulated s, wall s,
    events, and wall s / events per simulated second. A short bench run's whole-run rate mixes in
    the attach phase (every sensor awake and attaching) and the drain (no new traffic); the
    traffic phase is the rate a longer run converges to. {} for a result without phases."""
    out = {}
    for p in result.get("run", {}).get("phases", []):
        sim_s = p["end_s"] - p["start_s"]
        out[p["name"]] = {"simulated_s": round(sim_s, 6), "wall_s": round(p["wall_s"], 3), "events": p["events"],
                          "wall_per_sim_s": round(p["wall_s"] / sim_s, 3) if sim_s > 0 else None,
                          "events_per_sim_s": round(p["events"] / sim_s) if sim_s > 0 else None}
    return out


SENSOR_RESULT_KEYS = ("rx_bytes", "rx_packets", "latency_mean_ms", "sinr_db", "rsrp_dbm")


def _sensors_digest(result: dict) -> str:
    """A fingerprint of every sensor's delivered traffic, latency and radio: equal digests mean
    bit-identical per-sensor results."""
    rows = [[s.get(k) for k in SENSOR_RESULT_KEYS] for s in result["sensors"]]
    return json_digest(rows, compact=False)


def bench_knob(topology: str, field: str, values: list, duration_s=None, progress=None) -> dict:
    """One speed knob's values side by side, every other knob fast (the schema's defaults):
    wall and events per simulated second, goodput, and whether each value's per-sensor results
    are bit-identical to the first value's. field is a dotted config path, e.g.
    sim.dl_ctrl_interference."""
    dur = duration_s or DEFAULT_DURATION_S.get(topology, 1.0)
    section, _, key = field.rpartition(".")
    rows = []
    for value in values:
        cfg = _cfg(topology, dur, False)
        node = cfg
        for part in filter(None, section.split(".")):
            node = node[part]
        node[key] = value
        if progress:
            progress(f"knob {topology} {field}={value} ({dur} s of traffic)")
        rows.append(dict(_run(configmod.validate(cfg), bridge=False), value=value))
    for r in rows:
        r["identical_to_first"] = r["sensors_digest"] == rows[0]["sensors_digest"]
        r["time_vs_first"] = round(r["wall_per_sim_s"] / rows[0]["wall_per_sim_s"], 3)
    return {"topology": topology, "field": field, "duration_s": dur, "values": rows}


SIM_VARIANTS = ("stock", "fast", "power_saving")


def bench_sim(topologies, duration_s=None, progress=None, repeat: int = 1,
              variants: Sequence[str] = SIM_VARIANTS) -> list[dict]:
    """Per topology: stock vs fast knobs, wall and events per simulated second, speed-up, same goodput.

    repeat > 1 runs every variant that many times, round-robin (stock, fast, power_saving, stock, ...),
    so that a slow spell of a shared machine hits all variants alike. A variant's record is then its
    median run (by wall s per simulated s; the upper median of an even count), with every run's figure
    in run order in runs_wall_per_sim_s and whether all runs gave the same per-sensor results
    (identical_runs; ns-3 runs are deterministic, so False is a defect). variants: those to run;
    a skipped one is None."""
    if repeat < 1:
        raise UsageError(f"--repeat {repeat}: must be >= 1")
    unknown = [v for v in variants if v not in SIM_VARIANTS]
    if unknown or "fast" not in variants:
        raise UsageError(f"--variants {','.join(variants)}: choose from {', '.join(SIM_VARIANTS)}, "
                         "fast included (the other variants are compared with it)")
    rows = []
    for topo in topologies:
        dur = duration_s or DEFAULT_DURATION_S.get(topo, 1.0)
        row = {"topology": topo, "duration_s": dur}
        todo = [v for v in SIM_VARIANTS if v in variants and not (v == "stock" and topo in NO_STOCK)]
        runs: dict[str, list[dict]] = {v: [] for v in todo}
        for k in range(repeat):
            for variant in todo:
                if progress:
                    progress(f"sim {topo} {variant} ({dur} s of traffic)"
                             + (f", run {k + 1}/{repeat}" if repeat > 1 else ""))
                cfg = _cfg(topo, dur, variant == "stock", power_saving=variant == "power_saving")
                one = _run(cfg, bridge=False)
                one["power_mode"] = cfg["power"]["mode"]
                runs[variant].append(one)
        for variant in SIM_VARIANTS:
            row[variant] = _median_run(runs[variant]) if variant in runs else None
        row["speedup"] = (round(row["stock"]["wall_per_sim_s"] / row["fast"]["wall_per_sim_s"], 2)
                          if row["stock"] else None)
        # power saving: the fast knobs with the radio's default power.mode (issue 16)
        row["power_saving_speedup"] = (round(row["fast"]["wall_per_sim_s"] / row["power_saving"]["wall_per_sim_s"], 2)
                                       if row["power_saving"] else None)
        row["same_goodput"] = row["stock"]["goodput_bps"] == row["fast"]["goodput_bps"] if row["stock"] else None
        rows.append(row)
    return rows


def _median_run(runs: list[dict]) -> dict:
    """The median run of repeated runs of one variant (module docstring of bench_sim), annotated."""
    ordered = sorted(runs, key=lambda r: r["wall_per_sim_s"])
    out = dict(ordered[len(ordered) // 2])
    out["repeats"] = len(runs)
    out["runs_wall_per_sim_s"] = [r["wall_per_sim_s"] for r in runs]
    out["identical_runs"] = len({r["sensors_digest"] for r in runs}) == 1
    return out


def bench_python_apply(n_sensors=1000, n_gateways=20, rounds=50, rate=0.8) -> dict:
    """Decode + TwinGraph apply + SQLite append of large-topology snapshots."""
    rng = np.random.default_rng(1)
    cols = list(SENSOR_COLUMN_NAMES)  # the columns ns3-scenarios/iot-city-twin.cc publishes
    gw_cols = list(GATEWAY_COLUMN_NAMES)
    msgs = []
    for k in range(1, rounds + 1):
        idx = np.sort(rng.choice(n_sensors, int(round(rate * n_sensors)), replace=False)).astype(np.uint32)
        vals = rng.random((len(idx), len(cols)))
        vals[:, cols.index("attached_gateway")] = idx % n_gateways
        gw = NodeTable("gateway", "dtmi:gaidt:Gateway;1", n_gateways, np.arange(n_gateways, dtype=np.uint32),
                       gw_cols, [], rng.random((n_gateways, len(gw_cols))))
        msgs.append(encode_snapshot("bench", k, k, k * 0.1, [NodeTable("sensor", "dtmi:gaidt:IoTSensor;1",
                                                                         n_sensors, idx, cols, [], vals), gw]))
    size = sum(len(f) for f in msgs[0])
    with tempfile.TemporaryDirectory() as d:
        store = HistoryStore(Path(d) / "h.sqlite")
        g = TwinGraph()
        updates = 0
        t0 = time.perf_counter()
        for frames in msgs:
            m = decode(frames)
            updates += g.apply_snapshot(m)
            store.append(m)
        dt = time.perf_counter() - t0
        store.close()
    return {"snapshot_bytes": size, "rounds": rounds, "updates": updates,
            "updates_per_s": round(updates / dt), "ms_per_snapshot": round(1000 * dt / rounds, 2)}


def bench_bridge(duration_s=None, progress=None, repeats: int = 2, topology: str = "large") -> dict:
    """Bridge overhead at period_s 0.1 (the goal is stated for the large topology).

    Three measures: (1) the wall time spent inside the bridge (snapshot
    building, ZeroMQ sends, command polling), timed in the ns-3 process and
    divided by the run's wall time; (2) the difference of two whole runs with
    and without the bridge (live Python subscriber), alternated `repeats` times,
    best of each (only as good as the machine is quiet: wall varies +-25% on the
    VM); (3) the same comparison in CPU time, user+sys of the ns-3 process and of
    this Python process (which hosts the subscriber), which the VM's wall-time
    noise does not touch.
    """
    dur = duration_s or DEFAULT_DURATION_S.get(topology, 1.0)
    out = {"topology": topology, "period_s": 0.1, "duration_s": dur}
    walls = {"without": [], "with": []}
    cpu = {v: {"ns3": [], "python": []} for v in walls}
    last = None
    for i in range(repeats):
        for variant in ("without", "with"):
            if progress:
                progress(f"bridge: {topology} {variant} bridge ({dur} s), {i + 1}/{repeats}")
            r = _run(_cfg(topology, dur, False, period_s=0.1), bridge=variant == "with")
            walls[variant].append(r["wall_s"])
            cpu[variant]["ns3"].append(r["ns3_cpu_s"])
            cpu[variant]["python"].append(r["python_cpu_s"])
            if variant == "with":
                last = r
    b = last["bridge"]
    w0, w1 = min(walls["without"]), min(walls["with"])
    n0, n1 = min(cpu["without"]["ns3"]), min(cpu["with"]["ns3"])
    t0 = min(a + b_ for a, b_ in zip(cpu["without"]["ns3"], cpu["without"]["python"]))
    t1 = min(a + b_ for a, b_ in zip(cpu["with"]["ns3"], cpu["with"]["python"]))
    out.update(
        wall_without_s=walls["without"], wall_with_s=walls["with"],
        overhead_pct_two_runs=round(100 * (w1 - w0) / w0, 2),
        cpu_without_s=cpu["without"], cpu_with_s=cpu["with"],
        overhead_pct_cpu_ns3=round(100 * (n1 - n0) / n0, 2) if n0 else None,
        overhead_pct_cpu_total=round(100 * (t1 - t0) / t0, 2) if t0 else None,
        subscriber_cpu_s=round(min(cpu["with"]["python"]) - min(cpu["without"]["python"]), 3),
        overhead_pct_in_process=round(100 * b["wall_s"] / last["wall_s"], 3),
        bridge_wall_s=round(b["wall_s"], 4), startup_wait_s=round(b.get("startup_wait_s", 0), 4),
        snapshot_bytes=round((b["bytes_sent"] - b.get("end_bytes", 0))
                             / max(b["messages"] - (1 if b.get("end_bytes") else 0), 1)), rounds=b["rounds"],
    )
    if progress:
        progress("bridge: Python-side apply rate")
    out["python"] = bench_python_apply()
    return out


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
            tasks = [Task(f"bench:{rep}-{i}", "experiments.bench:_overhead_probe",
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


def goals_from(paths: list[str]) -> dict:
    """One report from saved `bench --json` outputs (later files win per section; every Fig. 2
    campaign is kept, in fig_runs), with each campaign's stock estimate and the goals recomputed:
    e.g. `bench sim` rates from one run and a timed `fig2 --full` from another."""
    report: dict = {}
    fig_runs: list[dict] = []
    for path in paths:
        try:
            part = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"--from {path}: not a readable `bench --json` output ({e})") from None
        report.update({k: v for k, v in part.items() if k not in ("goals", "fig_runs")})
        fig_runs += part.get("fig_runs") or ([part["fig"]] if "fig" in part else [])
    if fig_runs:
        report["fig_runs"] = [dict(f, stock=fig_stock_estimate(f, report.get("sim"))) for f in fig_runs]
        report["fig"] = report["fig_runs"][-1]
    report["goals"] = goals(report)
    return report


def _goal(goal, target, unit, measured, stock, met, **extra) -> dict:
    ratio = round(measured / stock, 4) if measured is not None and stock else None
    return {"goal": goal, "target": target, "unit": unit, "measured": measured, "stock": stock,
            "ratio_vs_stock": ratio, "met": met, **extra}


def goals(report: dict) -> list[dict]:
    """Issue 7's speed goals from whatever this invocation measured (see module docstring)."""
    out = []
    sim = {r["topology"]: r for r in report.get("sim", [])}
    large = sim.get("large")
    miss = {"note": "not measured in this invocation: run `bench sim`"}
    if large and large.get("stock"):
        m, st = large["fast"]["wall_per_sim_s"], large["stock"]["wall_per_sim_s"]
        out.append(_goal("large: wall s per simulated s", "<= 30", "s/sim s", m, st, m <= 30))
        out.append(_goal("large: speed-up over stock", ">= 5", "x", large["speedup"], 1.0,
                         large["speedup"] >= 5))
    else:
        out.append(_goal("large: wall s per simulated s", "<= 30", "s/sim s", None, None, None, **miss))
        out.append(_goal("large: speed-up over stock", ">= 5", "x", None, None, None, **miss))
    # issue 16: large with the radio's power-saving default, beside always_on (the fast row)
    if large and large.get("power_saving"):
        m, on = large["power_saving"]["wall_per_sim_s"], large["fast"]["wall_per_sim_s"]
        out.append(_goal("large, power saving: wall s per simulated s", "<= 10", "s/sim s", m, on, m <= 10,
                         stock_means="the same run with power.mode always_on (bench sim fast)",
                         power_mode=large["power_saving"].get("power_mode"),
                         runs_wall_per_sim_s=large["power_saving"].get("runs_wall_per_sim_s")))
    else:
        out.append(_goal("large, power saving: wall s per simulated s", "<= 10", "s/sim s", None, None, None,
                         stock_means="the same run with power.mode always_on (bench sim fast)", **miss))
    # the same goal on the traffic phase alone (run.phases): the whole-run figure above includes the
    # attach phase, in which every sensor is awake; both are reported, neither replaces the other
    traffic = ((large or {}).get("power_saving") or {}).get("phases", {}).get("traffic")
    traffic_on = ((large or {}).get("fast") or {}).get("phases", {}).get("traffic")
    if traffic and traffic.get("wall_per_sim_s") is not None:
        m = traffic["wall_per_sim_s"]
        out.append(_goal("large, power saving, traffic phase: wall s per simulated s", "<= 10", "s/sim s", m,
                         traffic_on and traffic_on.get("wall_per_sim_s"), m <= 10,
                         stock_means="the traffic phase of the same run with power.mode always_on",
                         phase="traffic (duration_s after sim.warmup_s; attach and drain excluded)",
                         events_per_sim_s=traffic["events_per_sim_s"],
                         power_mode=large["power_saving"].get("power_mode")))
    else:
        out.append(_goal("large, power saving, traffic phase: wall s per simulated s", "<= 10", "s/sim s", None,
                         None, None, stock_means="the traffic phase of the same run with power.mode always_on",
                         **miss))
    city = sim.get("city")
    if city and city.get("power_saving"):
        ps = city["power_saving"]
        on = city["fast"]["wall_per_sim_s"] if city.get("fast") else None
        out.append(_goal("city (10,000/200), power saving: runs at all", "all sensors attached", "s/sim s",
                         ps["wall_per_sim_s"], on, ps["sensors_attached"] == 10000,
                         stock_means="the same run with power.mode always_on (bench sim fast)",
                         sensors_attached=ps["sensors_attached"]))
    else:
        out.append(_goal("city (10,000/200), power saving: runs at all", "all sensors attached", "s/sim s", None,
                         None, None, note="not measured in this invocation: run `bench sim --topologies city`"))
    br = report.get("bridge")
    names = ("bridge: time inside it", "bridge: whole run, wall", "bridge: whole run, CPU")
    stock_means = ("the same run less the time inside the bridge",
                   "the run without the bridge (the goal's run has a live Python subscriber)",
                   "ns-3 + this Python process (the subscriber) without the bridge, user+sys")
    if br:
        where = {"topology": br["topology"]}
        w = br["wall_with_s"][-1]
        inside = round(w - br["bridge_wall_s"], 3)
        out.append(_goal(names[0], "<= 2%", "s wall", w, inside, br["overhead_pct_in_process"] <= 2,
                         overhead_pct=br["overhead_pct_in_process"], stock_means=stock_means[0], **where))
        out.append(_goal(names[1], "<= 2%", "s wall", min(br["wall_with_s"]), min(br["wall_without_s"]),
                         br["overhead_pct_two_runs"] <= 2, overhead_pct=br["overhead_pct_two_runs"],
                         stock_means=stock_means[1], **where))
        c1 = min(a + b for a, b in zip(br["cpu_with_s"]["ns3"], br["cpu_with_s"]["python"]))
        c0 = min(a + b for a, b in zip(br["cpu_without_s"]["ns3"], br["cpu_without_s"]["python"]))
        pct = br["overhead_pct_cpu_total"]
        out.append(_goal(names[2], "<= 2%", "s CPU", round(c1, 3), round(c0, 3), pct is not None and pct <= 2,
                         overhead_pct=pct, ns3_overhead_pct=br["overhead_pct_cpu_ns3"],
                         subscriber_cpu_s=br["subscriber_cpu_s"], stock_means=stock_means[2], **where))
    else:
        for n, means in zip(names, stock_means):
            out.append(_goal(n, "<= 2%", "", None, None, None, stock_means=means,
                             note="not measured in this invocation: run `bench bridge`"))
    figs = {f["profile"]: f for f in report.get("fig_runs") or [report.get("fig")] if f}
    fig = figs.get("default") or figs.get("full") or report.get("fig")
    stock_full = None
    stock_rates = sim_rates(report.get("sim"), "stock")
    if stock_rates and stock_rates["complete"]:
        stock_full = fig2.estimate_profile_s("full", stock_rates, (fig or {}).get("workers") or os.cpu_count() or 1)
    if "default" in figs:
        m = figs["default"]["wall_s"]
        out.append(_goal("fig2 default profile: wall", "<= 600", "s", m, figs["default"]["stock"].get("wall_s"),
                         m <= 600 and figs["default"]["exit_code"] == 0, stock_estimated=True))
    else:
        out.append(_goal("fig2 default profile: wall", "<= 600", "s", None, None, None,
                         note="not measured in this invocation: run `bench fig`"))
    if "full" in figs:
        m = figs["full"]["wall_s"]
        out.append(_goal("fig2 --full: wall", "<= 3600", "s", m, figs["full"]["stock"].get("wall_s"),
                         m <= 3600 and figs["full"]["exit_code"] == 0, estimated=False, stock_estimated=True))
    else:
        workers = (fig or {}).get("workers") or os.cpu_count() or 1
        est = fig2.estimate_profile_s("full", sim_rates(report.get("sim")), workers)
        out.append(_goal("fig2 --full: wall", "<= 3600", "s", est["wall_s_expected"],
                         stock_full and stock_full["wall_s_expected"], est["wall_s_expected"] <= 3600, estimated=True,
                         rates=est["rates"], workers=workers, worst_case_wall_s=est["wall_s"],
                         new_config_share=est["new_config_share"], stock_estimated=True))
    return out


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
