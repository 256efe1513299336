"""`bench bridge`: the twin bridge's overhead on a run, and the Python side's snapshot apply rate."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from gaidt_bridge.columns import GATEWAY_COLUMN_NAMES, SENSOR_COLUMN_NAMES
from gaidt_bridge.history import HistoryStore
from gaidt_bridge.protocol import NodeTable, decode, encode_snapshot
from gaidt_bridge.twin_graph import TwinGraph

from .runs import DEFAULT_DURATION_S, _cfg, _run


def bench_python_apply(n_sensors=1000, n_gateways=20, rounds=50, rate=0.8) -> dict:
    """Decode + TwinGraph apply + SQLite append of large-topology snapshots."""
    rng = np.random.default_rng(1)
    cols = list(SENSOR_COLUMN_NAMES)  # the columns ns3-scenarios/helper/iot-city-twin.cc publishes
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
