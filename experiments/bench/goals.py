"""The speed goals table: each goal's target, measured value, stock baseline and ratio, from a bench report or
saved --json outputs."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .. import fig2
from .campaign import fig_stock_estimate, sim_rates


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
