"""The Twin Service Layer's campaign (`run.py services --out DIR`): every service on the example topologies.

run_services() runs them and returns a ServicesOutcome; experiments/run.py parses and prints.

Writes
  DIR/services.csv          one row per service, scenario, variant and seed, with that service's metrics
  DIR/mmtc_gateways.csv     mMTC per gateway (served ratio, delivery ratio, throughput, ...)
  DIR/mmtc_energy.csv       mMTC energy vs latency: one row per power setting run (twin metrics, which was chosen)
  DIR/mmtc_energy.png       energy per sensor vs mean latency per power setting
  DIR/tic_training.csv      TIC: the scenario twins trained in, and the learned table
  DIR/{mmtc,tic,sync,ptr}.png
  DIR/runs/...              every ns-3 run (config, result, history)
Exit codes: 0 ok, 1 a run failed, 2 bad input (topology, road graph, seeds).
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.errors import UsageError
from generators.closed_loop import llm_session

from . import mmtc, ptr, routing, sync, tic
from .twin_data import history_table

KEYS = ["service", "topology", "scenario", "variant", "seed"]

# simulated durations (s) of the default profile: a few minutes on 2 cores for the small topology
SYNC_ROUNDS, SYNC_PERIOD_S = 20, 0.5
PTR_DURATION_S = 40.0
TIC_TRAIN_S, TIC_EVAL_S, TIC_TWINS = 8.0, 8.0, 3
TIC_LIGHT_SCALE = 0.4


class Progress:
    """A rich progress bar on stderr (nothing when quiet)."""

    def __init__(self, total: int, quiet: bool):
        self.quiet = quiet
        self.bar = None
        if not quiet:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(TextColumn("[bold]services[/bold] {task.description}"), BarColumn(),
                                    MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True))
            self.task = self.bar.add_task("", total=total)
            self.bar.start()

    def step(self, text: str) -> None:
        """Advance the bar by one step, showing text."""
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=text)

    def note(self, text: str) -> None:
        """Print a line above the bar."""
        if self.bar is not None:
            self.bar.console.print(text)

    def close(self) -> None:
        """Stop the bar."""
        if self.bar is not None:
            self.bar.stop()


def _pool(workers: int):
    return ThreadPoolExecutor(max_workers=max(1, workers))


def run_mmtc(topologies, seeds, out: Path, workers: int, prog: Progress) -> tuple[list, list, list]:
    """mMTC rows (services.csv), per-gateway rows for every topology, seed, network and activity level,
    and the energy-latency rows (mmtc.run_power on mmtc.power_config) per topology and seed."""
    jobs = [(t, s, stressed, a) for t in topologies for s in seeds for stressed in (False, True)
            for a in mmtc.ACTIVITY_LEVELS]
    rows, gw_rows, power_rows = [], [], []
    with _pool(workers) as pool:
        power_futs = {(t, s): pool.submit(mmtc.run_power, mmtc.power_config(t, s),
                                          out / "runs" / "mmtc-power" / f"{t}-s{s}")
                      for t in topologies for s in seeds}
        futs = {job: pool.submit(mmtc.run_level, job[0], job[1], job[3],
                                 out / "runs" / "mmtc" / f"{job[0]}{'-stress' if job[2] else ''}-s{job[1]}-a{job[3]}",
                                 None, job[2]) for job in jobs}
        for (topo, seed, stressed, act), fut in futs.items():
            res = fut.result()
            scen = f"{topo}-stress" if stressed else topo
            for variant, v in res["variants"].items():
                keys = {"service": "mmtc", "topology": topo, "scenario": scen, "variant": variant, "seed": seed,
                        "activity": act}
                rows.append(keys | mmtc.summary_row(v["gateways"])
                            | {"unchanged": res["unchanged"], "settings": json.dumps(res["candidate"]),
                               "reasons": "; ".join(res["reasons"])})
                for g in v["gateways"]:
                    gw_rows.append(keys | g)
            prog.step(f"mmtc {scen} seed {seed} ul {int(100 * act)}%")
        for (topo, seed), fut in power_futs.items():
            res = fut.result()
            for r in res["rows"]:
                power_rows.append({"service": "mmtc", "topology": topo, "scenario": f"{topo}-power",
                                   "seed": seed} | dict(r, settings=json.dumps(r["settings"], sort_keys=True))
                                  | {"min_on_time_ratio": res["min_on_time_ratio"], "reason": res["reason"]})
            prog.step(f"mmtc {topo}-power seed {seed}")
    return rows, gw_rows, power_rows


def run_sync(topologies, seeds, out: Path, workers: int, prog: Progress) -> list:
    """Right-time synchronization rows for every topology and seed (one truth run each, every policy replayed on
    it)."""
    rows = []
    with _pool(workers) as pool:
        futs = {(t, s): pool.submit(sync.truth_run, t, s, SYNC_ROUNDS, SYNC_PERIOD_S,
                                    out / "runs" / "sync" / f"{t}-s{s}") for t in topologies for s in seeds}
        for (topo, seed), fut in futs.items():
            cfg, outcome = fut.result()
            truths = sync.truth_tables(outcome.truth)
            hist = history_table(outcome.out_dir / "history.sqlite", "sync")
            rate = cfg["twin"]["twinning_rate"]
            policies = [sync.FixedRate(r, seed) for r in (0.2, 0.4, 0.6, 0.8, 1.0)]
            policies += [sync.RightTime(rate, th) for th in (0.25, 0.5, 1.0, 2.0)]
            policies += [sync.RightTime(b, 0.5) for b in (0.2, 0.4)]
            policies += [sync.as_run_policy(hist, rate)]
            policies += sync.forecast_policies(seed)  # forecast-guided vs fixed r, both filling in by forecast
            for p in policies:
                rows.append({"service": "sync", "topology": topo, "scenario": f"{topo}-S3", "variant": p.name,
                             "seed": seed} | sync.summarize(sync.replay(truths, p, round_s=SYNC_PERIOD_S)))
            prog.step(f"sync {topo} seed {seed}")
    return rows


def run_ptr(topologies, seeds, out: Path, workers: int, prog: Progress, graph=None) -> list:
    """Truck routing rows for every topology and seed (one bridged run each; road graph: graph or a street grid)."""
    def one(topo, seed):
        cfg = dict(configmod.example(topo), seed=seed, duration_s=PTR_DURATION_S, name=f"{topo}-ptr")
        outcome = ns3_runner.run_scenario(configmod.validate(cfg), out / "runs" / "ptr" / f"{topo}-s{seed}",
                                          bridge=True)
        hist = history_table(outcome.out_dir / "history.sqlite", "ptr")
        return ptr.evaluate(hist, ptr.FillModel(cfg["topology"]["sensors"], seed), graph=graph,
                            area_m=cfg["topology"]["area_m"])

    rows = []
    with _pool(workers) as pool:
        futs = {(t, s): pool.submit(one, t, s) for t in topologies for s in seeds}
        for (topo, seed), fut in futs.items():
            for variant, m in fut.result().items():
                keys = {"service": "ptr", "topology": topo, "scenario": topo, "variant": variant, "seed": seed}
                rows.append(keys | m)
            prog.step(f"ptr {topo} seed {seed}")
    return rows


def run_tic(topologies, seeds, out: Path, workers: int, prog: Progress, client=None) -> tuple[list, list]:
    """TIC rows and training rows for every topology and seed: train the bandit on scenario twins, evaluate it
    against fixed pacing."""
    rows, train_rows = [], []
    for topo in topologies:
        for seed in seeds:
            base = tic.base_config(topo, seed, TIC_TRAIN_S)
            d = out / "runs" / "tic" / f"{topo}-s{seed}"
            training = tic.train(base, d / "train", n_twins=TIC_TWINS, payload_scales=(TIC_LIGHT_SCALE, 1.0),
                                 seed=seed, workers=workers, client=client,
                                 on_run=lambda name: prog.step(f"tic {topo} seed {seed}: trained in {name}"))
            for r in training.runs:
                train_rows.append({"topology": topo, "seed": seed, "kind": "twin", **r,
                                   "values": json.dumps(r.get("values"))})
            for r in training.bandit.table():
                train_rows.append({"topology": topo, "seed": seed, "kind": "table", **r})
            light_max = max(24, int(round(base["traffic"]["payload_bytes"]["max"] * TIC_LIGHT_SCALE)))
            scen = {f"{topo}-tic-stress": tic.base_config(topo, seed, TIC_EVAL_S),
                    f"{topo}-tic-light": tic.base_config(topo, seed, TIC_EVAL_S, payload_max_bytes=light_max)}
            # fixed: the network as configured (x1); fixed-x2: a hand-set constant pacing, to show
            # what the learner adds over simply pacing everywhere
            policies = {"fixed": (None, 1), "fixed-x2": (None, 2), "learned": (training.bandit, 1)}
            jobs = [(s, v) for s in scen for v in policies]
            with _pool(workers) as pool:
                futs = {(s, v): pool.submit(tic.evaluate, scen[s], d / f"{s}-{v}", policies[v][0],
                                            fixed_m=policies[v][1]) for s, v in jobs}
                for (s, v), fut in futs.items():
                    rows.append({"service": "tic", "topology": topo, "scenario": s, "variant": v, "seed": seed}
                                | fut.result())
                    prog.step(f"tic {s} seed {seed} {v}")
    return rows, train_rows


def _steps(services, n_topo: int, n_seeds: int) -> int:
    """Progress steps: one per mMTC level and scenario, sync or PTR run, TIC twin or evaluation."""
    per = {"mmtc": 2 * len(mmtc.ACTIVITY_LEVELS) + 1, "sync": 1, "ptr": 1, "tic": 2 * TIC_TWINS + 6}
    return n_topo * n_seeds * sum(per[s] for s in services)


SERVICES = ("mmtc", "sync", "ptr", "tic")


@dataclass
class ServicesOutcome:
    """What run_services wrote: the services.csv frame, the services run, wall seconds per service
    and in total, the output folder, and the mMTC energy-latency rows (mmtc_energy.csv; None
    without mmtc)."""

    out: Path
    services: list[str]
    services_csv: pd.DataFrame
    timing_s: dict[str, float]
    wall_s: float
    mmtc_energy: pd.DataFrame | None = None


def run_services(out: str | Path, topologies: Sequence[str] = ("small",), seeds: Sequence[int] = (1, 2),
                 only: Sequence[str] | None = None, road_graph: str | Path | None = None,
                 workers: int | None = None, quiet: bool = False, llm_url: str | None = None,
                 llm_model: str | None = None, llm_api_key: str | None = None) -> ServicesOutcome:
    """Run every service (or ``only`` those) of the Twin Service Layer on the example ``topologies``
    and ``seeds``, and write the files of the module docstring into ``out``. A progress bar goes to
    stderr unless ``quiet``. Raises UsageError for unknown topologies, bad seeds or workers, and
    RoadGraphError for an unusable ``road_graph``; TwinDataError and EndpointError when a run fails."""
    topologies = [t.strip() for t in topologies if t.strip()]
    if not topologies:
        raise UsageError("--topologies is empty; e.g. small or small,medium")
    known = sorted(p.stem for p in configmod.EXAMPLES.glob("*.json"))
    unknown = [t for t in topologies if t not in known]
    if unknown:
        raise UsageError(f"--topologies {','.join(unknown)}: no such example; allowed: {', '.join(known)}")
    seeds = list(seeds)
    if not seeds or any(s < 1 for s in seeds):
        raise UsageError(f"--seeds = {seeds}: need one or more integers >= 1")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers = {workers}: must be >= 1")
    unknown = [s for s in only or () if s not in SERVICES]
    if unknown:
        raise UsageError(f"--only {' '.join(unknown)}: no such service; allowed: {', '.join(SERVICES)}")
    graph = routing.load_road_graph(road_graph) if road_graph else None
    services = list(only or SERVICES)
    workers = workers or os.cpu_count() or 1
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    prog = Progress(_steps(services, len(topologies), len(seeds)), quiet)
    rows, gw_rows, power_rows, train_rows, timing = [], [], [], [], {}
    client_ctx = None
    try:
        for name in services:
            ts = time.monotonic()
            if name == "mmtc":
                r, g, pw = run_mmtc(topologies, seeds, out, workers, prog)
                rows += r
                gw_rows += g
                power_rows += pw
            elif name == "sync":
                rows += run_sync(topologies, seeds, out, workers, prog)
            elif name == "ptr":
                rows += run_ptr(topologies, seeds, out, workers, prog, graph)
            elif name == "tic":
                client = None
                if llm_url:
                    client_ctx = llm_session(llm_url, llm_model, llm_api_key, audit_path=out / "tic_generations.jsonl")
                    client = client_ctx.__enter__()
                r, tr = run_tic(topologies, seeds, out, workers, prog, client)
                rows += r
                train_rows += tr
            timing[name] = time.monotonic() - ts
    finally:
        if client_ctx is not None:
            client_ctx.__exit__(None, None, None)
        prog.close()
    df = pd.DataFrame(rows)
    df = df[KEYS + [c for c in df.columns if c not in KEYS]]
    df.to_csv(out / "services.csv", index=False)
    if gw_rows:
        gw = pd.DataFrame(gw_rows)
        gw.to_csv(out / "mmtc_gateways.csv", index=False)
        mmtc.plot(gw, out / "mmtc.png")
    pw = None
    if power_rows:
        pw = pd.DataFrame(power_rows)
        pw.to_csv(out / "mmtc_energy.csv", index=False)
        mmtc.plot_power(pw, out / "mmtc_energy.png")
    if train_rows:
        pd.DataFrame(train_rows).to_csv(out / "tic_training.csv", index=False)
    for name, plot in (("tic", tic.plot), ("sync", sync.plot), ("ptr", ptr.plot)):
        if name in services:
            plot(df, out / f"{name}.png")
    return ServicesOutcome(out, services, df, timing, time.monotonic() - t0, pw)


def report_lines(outcome: ServicesOutcome) -> list[str]:
    """The lines `run.py services` prints on stdout (unless --quiet): summary, wall times, files."""
    df, out = outcome.services_csv, outcome.out
    energy = []
    if outcome.mmtc_energy is not None:
        energy.append("mmtc energy vs latency (chosen power setting per scenario and seed, from the twin):")
        for _, r in outcome.mmtc_energy[outcome.mmtc_energy["chosen"]].iterrows():
            energy.append(f"  {r['scenario']} seed {r['seed']}: {r['option']}, {r['energy_mean_j']:.3f} J per sensor, "
                          f"latency {r['latency_mean_ms']:.1f} ms, deadline success {r['on_time_ratio']:.3f}")
    return [summary_text(df), *energy,
            "wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in outcome.timing_s.items())
            + f"; total {outcome.wall_s:.0f} s",
            f"wrote {out / 'services.csv'} ({len(df)} rows) and " + ", ".join(f"{s}.png" for s in outcome.services)]


def summary_text(df: pd.DataFrame) -> str:
    """A few lines per service: mean over seeds of its headline metrics."""
    lines = []
    spec = {"mmtc": (["scenario", "activity", "variant"],
                     ["served_ratio_mean", "delivery_ratio", "throughput_bps", "late_ratio"]),
            "tic": (["scenario", "variant"], ["on_time_ratio", "loss_ratio", "on_time_per_sensor_s", "mean_pacing"]),
            "sync": (["variant"], ["accuracy_mean", "messages_per_round", "cpu_ms_per_round"]),
            "ptr": (["variant"], ["overflow_events", "overflowed_bins", "distance_km", "collections"])}
    for svc, (by, cols) in spec.items():
        d = df[df.service == svc]
        if d.empty:
            continue
        lines.append(f"{svc}: mean over seeds {sorted(d.seed.unique().tolist())}")
        g = d.groupby(by)[cols].mean()
        lines.append(g.to_string(float_format=lambda x: f"{x:.3f}"))
    return "\n".join(lines)
