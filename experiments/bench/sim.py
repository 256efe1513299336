"""`bench sim` (stock vs fast vs power saving per topology) and `bench knob` (one knob's values side by side)."""
from __future__ import annotations

from typing import Sequence

from gaidt import config as configmod
from gaidt.errors import UsageError

from .runs import DEFAULT_DURATION_S, NO_STOCK, _cfg, _run


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
