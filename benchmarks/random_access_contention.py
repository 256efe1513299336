"""Random access on wake-ups (issue 16 item 3): collisions and access delay against the number of
sensors of one cell that wake from PSM together, measured on real ns-3 runs.

Each case: 1 gateway, N sensors of the small example (LTE-M, mMTC, payloads 24..250 bytes), a
report every 2 s from every sensor (ul_activity 1), power.mode psm released after 0.5 s straight
into PSM (T3324 0), a 2 s warm-up (every sensor attached and in PSM before the traffic starts),
5 s of traffic: every report (at 2, 4 and 6 s) wakes its sensor from PSM. `sync`: synchronized
periods, access_spread_s 1 ms (the wake-ups share a PRACH occasion). `spread`: the same load with
random report phases over the period. `fixed`: sync, with power.random_access.model fixed (the
model before random access: 100 ms from the due time, no contention). Random-access parameters:
the schema defaults (power.random_access).

    .venv/bin/python benchmarks/random_access_contention.py --out benchmarks/random-access-contention-DATE.json
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
from pathlib import Path

from gaidt import config as configmod
from gaidt import ns3_runner

SIZES = (1, 5, 10, 20, 40, 80, 160)


def case_config(sensors: int, variant: str) -> dict:
    """The config of one case (see the module docstring)."""
    cfg = copy.deepcopy(configmod.example("small"))
    cfg["duration_s"] = 5.0
    cfg["sim"]["warmup_s"] = 2.0
    cfg["topology"].update({"sensors": sensors, "gateways": 1})
    cfg["traffic"].update({"report_period_s": 2.0, "ul_activity": 1.0, "access_spread_s": 0.001,
                           "synchronized_periods": variant != "spread"})
    cfg["power"] = {"mode": "psm", "rrc_release_s": 0.5, "t3324_s": 0.0}
    if variant == "fixed":
        cfg["power"]["random_access"] = {"model": "fixed"}
    return configmod.validate(cfg)


def run(sensors: int, variant: str) -> dict:
    """One run: the random-access summary and the KPIs."""
    cfg = case_config(sensors, variant)
    with tempfile.TemporaryDirectory(prefix="gaidt-rach-") as d:
        r = ns3_runner.run_scenario(cfg, d, bridge=False).result
    ra, k = r["random_access"], r["kpis"]
    woken = [s["power"]["wakeups"] for s in r["sensors"]]
    return {"sensors": sensors, "variant": variant, "wakeups": sum(woken), **{f"ra_{key}": v for key, v in ra.items()},
            "l_ms": k["l"], "l_network_ms": k["l_network_ms"], "l_p95_ms": k["l_p95_ms"], "d": k["d"],
            "delivery_ratio": k["delivery_ratio"], "energy_mean_j": r["power"]["energy_mean_j"],
            "events": r["run"]["events"], "wall_s": round(r["run"]["wall_s"], 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = []
    for n in sizes:
        variants = ("sync", "spread", "fixed") if n in (max(sizes), 40) else ("sync",)
        for variant in variants:
            row = run(n, variant)
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("sensors", "variant", "ra_accesses", "ra_preambles", "ra_collisions",
                                                  "ra_collision_ratio", "ra_access_delay_mean_ms",
                                                  "ra_access_delay_max_ms", "ra_failures", "l_ms", "d")}), flush=True)
    out = {"command": "benchmarks/random_access_contention.py --out " + args.out + " --sizes " + args.sizes,
           "load_average": os.getloadavg(), "config_of_largest_sync": case_config(max(sizes), "sync"), "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
