"""Scenario-2 calibration for Fig. 2: is the network the bottleneck for the traditional config?

Runs the traditional Scenario-2 cell (mMTC, synchronized reports) at the highest activity on every
topology, seed 1, for a few (report period, payload, deadline) settings at the paper's 2 kbps cap,
and writes what decides the calibration: deadline success d, goodput / offered, mean and p95
latency from the due time. Issue 11 asks for a measured network limit at 70% activity: d < 0.9 or
goodput / offered < 0.95 on every topology.

    .venv/bin/python benchmarks/fig2_calibration.py --out benchmarks/fig2-calibration-DATE.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from experiments import fig2
from gaidt import ns3_runner

SETTINGS = [  # (report period s, payload bytes, deadline ms): 8 x payload / period <= 2000 bit/s
    (1.0, 250, 100.0),
    (0.5, 125, 100.0),
    (0.5, 125, 50.0),  # the calibration fig2 uses
]


def run(topologies, duration_s: float, out_dir: Path, catm1: bool = True) -> list[dict]:
    rows = []
    for topo in topologies:
        for period, payload, deadline in SETTINGS:
            cfg = fig2.scenario_config(topo, "S2", 0.7, 1, duration_s, 0.5, 0.2)
            cfg["traffic"].update(report_period_s=period, payload_bytes={"min": payload, "max": payload})
            cfg["network"]["deadline_ms"] = deadline
            cfg["radio_params"]["catm1"] = catm1
            t0 = time.monotonic()
            o = ns3_runner.run_scenario(cfg, out_dir / f"{topo}-{period}-{payload}-{deadline:g}", bridge=False)
            k, tot = o.result["kpis"], o.result["totals"]
            row = {"topology": topo, "catm1": catm1, "report_period_s": period, "payload_bytes": payload, "deadline_ms": deadline,
                   "ul_activity": 0.7, "seed": 1, "duration_s": duration_s, "d": k["d"],
                   "goodput_ratio": tot["goodput_bps"] / tot["offered_bps"], "l_ms": k["l"],
                   "l_p95_ms": k["l_p95_ms"], "rho": k["rho"],
                   "offered_kbps_per_cell": tot["offered_bps"] / o.result["gateways_total"] / 1e3,
                   "network_limit": k["d"] < 0.9 or tot["goodput_bps"] / tot["offered_bps"] < 0.95,
                   "wall_s": round(time.monotonic() - t0, 1)}
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--topologies", nargs="+", default=list(fig2.TOPOLOGIES))
    ap.add_argument("--duration-s", type=float, default=2.0)
    ap.add_argument("--runs-dir", default="/tmp/gaidt-fig2-calibration")
    ap.add_argument("--no-catm1", action="store_true",
                    help="ns-3's 6-RB LTE MAC as is (radio_params.catm1 false), for before/after comparisons")
    a = ap.parse_args()
    rows = run(a.topologies, a.duration_s, Path(a.runs_dir), catm1=not a.no_catm1)
    Path(a.out).write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=1))
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
