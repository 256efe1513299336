"""Benchmarks: speed is measured here, never in tests.

  run.py bench sim     wall s and events per simulated second, stock vs fast
                       knobs side by side, for the example topologies
  run.py bench bridge  bridge overhead at twin.period_s 0.1 (large topology),
                       snapshot size, Python-side node-attribute updates per second

"stock" is the same scenario with ns-3's defaults for every speed knob
(sim.event_scheduler=map, cqi_period_ms=1, rlf_detection=true, max_loss_db=0,
allocator=system); "fast" is the schema's defaults (ns3-scenarios/README.md).
"""
from __future__ import annotations

import copy
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from . import config as configmod
from . import ns3_runner

STOCK_SIM = {"event_scheduler": "map", "cqi_period_ms": 1, "rlf_detection": True, "max_loss_db": 0,
             "allocator": "system"}
DEFAULT_DURATION_S = {"small": 5.0, "medium": 2.0, "large": 0.5}


def _cfg(topology: str, duration_s: float, stock: bool, **twin) -> dict:
    cfg = copy.deepcopy(configmod.example(topology))
    cfg["duration_s"] = duration_s
    cfg["traffic"]["service"] = "mmtc"
    cfg["traffic"]["ul_activity"] = 0.45
    if stock:
        cfg["sim"].update(STOCK_SIM)
    cfg["twin"].update(twin)
    return configmod.validate(cfg)


def machine() -> dict:
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


def _run(cfg: dict, bridge: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="gaidt-bench-") as d:
        o = ns3_runner.run_scenario(cfg, d, bridge=bridge)
    r = o.result
    sim_s = r["run"]["simulated_s"]
    out = {"wall_s": round(r["run"]["wall_s"], 3), "simulated_s": sim_s,
           "wall_per_sim_s": round(r["run"]["wall_s"] / sim_s, 3),
           "events_per_sim_s": round(r["run"]["events"] / sim_s),
           "goodput_bps": r["totals"]["goodput_bps"], "sensors_attached": r["sensors_attached"]}
    if "bridge" in r:
        out["bridge"] = r["bridge"]
    return out


def bench_sim(topologies, duration_s=None, progress=None) -> list[dict]:
    rows = []
    for topo in topologies:
        dur = duration_s or DEFAULT_DURATION_S.get(topo, 1.0)
        row = {"topology": topo, "duration_s": dur}
        for variant in ("stock", "fast"):
            if progress:
                progress(f"sim {topo} {variant} ({dur} s of traffic)")
            row[variant] = _run(_cfg(topo, dur, variant == "stock"), bridge=False)
        row["speedup"] = round(row["stock"]["wall_per_sim_s"] / row["fast"]["wall_per_sim_s"], 2)
        row["same_goodput"] = row["stock"]["goodput_bps"] == row["fast"]["goodput_bps"]
        rows.append(row)
    return rows


def bench_python_apply(n_sensors=1000, n_gateways=20, rounds=50, rate=0.8) -> dict:
    """Decode + TwinGraph apply + SQLite append of large-topology snapshots."""
    from gaidt_bridge.history import HistoryStore
    from gaidt_bridge.protocol import NodeTable, decode, encode_snapshot
    from gaidt_bridge.twin_graph import TwinGraph

    rng = np.random.default_rng(1)
    cols = ["x_m", "y_m", "active", "attached", "attached_gateway", "tx_packets", "tx_bytes", "rx_packets",
            "rx_bytes", "late_packets", "buffer_drops", "in_flight_packets", "latency_last_ms", "latency_mean_ms",
            "rsrp_dbm", "sinr_db", "report_period_s", "payload_max_bytes", "fill_level"]
    msgs = []
    for k in range(1, rounds + 1):
        idx = np.sort(rng.choice(n_sensors, int(round(rate * n_sensors)), replace=False)).astype(np.uint32)
        vals = rng.random((len(idx), len(cols)))
        vals[:, cols.index("attached_gateway")] = idx % n_gateways
        gw = NodeTable("gateway", "dtmi:gaidt:Gateway;1", n_gateways, np.arange(n_gateways, dtype=np.uint32),
                       ["x_m", "y_m", "attached_sensors", "rx_bytes"], [], rng.random((n_gateways, 4)))
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


def bench_bridge(duration_s=None, progress=None, repeats: int = 2) -> dict:
    """Bridge overhead at period_s 0.1 on the large topology.

    Two measures: (1) the wall time spent inside the bridge (snapshot
    building, ZeroMQ sends, command polling), timed in the ns-3 process and
    divided by the run's wall time; (2) the difference of two whole runs with
    and without the bridge, alternated `repeats` times, best of each (the
    comparison is only as good as the machine is quiet).
    """
    dur = duration_s or DEFAULT_DURATION_S["large"]
    out = {"topology": "large", "period_s": 0.1, "duration_s": dur}
    walls = {"without": [], "with": []}
    last = None
    for i in range(repeats):
        for variant in ("without", "with"):
            if progress:
                progress(f"bridge: large {variant} bridge ({dur} s), {i + 1}/{repeats}")
            r = _run(_cfg("large", dur, False, period_s=0.1), bridge=variant == "with")
            walls[variant].append(r["wall_s"])
            if variant == "with":
                last = r
    b = last["bridge"]
    w0, w1 = min(walls["without"]), min(walls["with"])
    out.update(
        wall_without_s=walls["without"], wall_with_s=walls["with"],
        overhead_pct_two_runs=round(100 * (w1 - w0) / w0, 2),
        overhead_pct_in_process=round(100 * b["wall_s"] / last["wall_s"], 3),
        bridge_wall_s=round(b["wall_s"], 4), startup_wait_s=round(b.get("startup_wait_s", 0), 4),
        snapshot_bytes=round(b["bytes_sent"] / max(b["messages"], 1)), rounds=b["rounds"],
    )
    if progress:
        progress("bridge: Python-side apply rate")
    out["python"] = bench_python_apply()
    return out


def main(args) -> int:
    console = Console(stderr=True)

    def progress(msg: str) -> None:  # on stderr, so that --json output stays clean
        console.print(f"[dim]bench[/dim] {msg}", highlight=False)

    report = {"machine": machine()}
    topologies = [t for t in args.topologies.split(",") if t]
    if args.which in ("all", "sim"):
        report["sim"] = bench_sim(topologies, args.duration_s, progress)
    if args.which in ("all", "bridge"):
        report["bridge"] = bench_bridge(args.duration_s, progress)
    if args.which == "all":
        try:
            from generators import bench_llm  # optional: needs the embedded model
        except ImportError:
            bench_llm = None
        if bench_llm is not None and hasattr(bench_llm, "run") and os.environ.get("GAIDT_BENCH_LLM", "1") == "1":
            try:
                report["llm"] = bench_llm.run(progress=progress)
            except Exception as e:  # noqa: BLE001 -- report, don't lose the other numbers
                report["llm"] = {"error": str(e)}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    if "sim" in report:
        t = Table(title="ns-3 speed (wall seconds per simulated second)")
        for c in ("topology", "stock", "fast", "speedup", "events/sim s (fast)", "same goodput"):
            t.add_column(c)
        for r in report["sim"]:
            t.add_row(r["topology"], f"{r['stock']['wall_per_sim_s']:.2f}", f"{r['fast']['wall_per_sim_s']:.2f}",
                      f"{r['speedup']:.2f}x", f"{r['fast']['events_per_sim_s']:,}", str(r["same_goodput"]))
        console.print(t)
    if "bridge" in report:
        console.print_json(json.dumps(report["bridge"]))
    return 0
