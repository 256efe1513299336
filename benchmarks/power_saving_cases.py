"""Sleeping sensors (issue 16): what power saving changes, measured on real ns-3 runs.

For each case, the same config with power.mode always_on and with each power-saving mode:
KPIs (delivery, deadline success d, mean latency l and its network part), ns-3 events and wall
time per simulated second, mean energy per sensor and kpis.battery_life_years. Cases:

- one_sensor_60s: 1 sensor / 1 gateway reporting once per 60 s for 120 s (the issue's done-when);
- deep_sleep_38y: 1 sensor that sends nothing, in PSM from before the window (TR 45.820's
  published 38-year case: 5 Wh at 0.015 mW);
- transmitting_10h: 1 LTE sensor (23 dBm) whose uplink never empties, always on (TR 45.820's
  published transmit case: 5 Wh at 500 mW lasts 10 hours);
- one_sensor_600s_1h: 1 sensor reporting once per 600 s for 3600 s with PSM (6 report cycles):
  what a long simulated time of a sleeping sensor costs ns-3;
- small, medium: the example topologies (mMTC, 45% activity, 1 s reports), 2 s and 1 s of traffic.

    .venv/bin/python benchmarks/power_saving_cases.py --out benchmarks/power-saving-cases-DATE.json

Wall times are only meaningful on a quiet machine: the output records `uptime`'s load average.
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


def _example(topology: str, duration_s: float, **overrides) -> dict:
    cfg = copy.deepcopy(configmod.example(topology))
    cfg.pop("power", None)  # the examples pin always_on; the mode is set per run
    cfg["duration_s"] = duration_s
    for key, value in overrides.items():
        node = cfg
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return cfg


CASES = {
    "one_sensor_60s": _example("small", 120.0, **{"topology.sensors": 1, "topology.gateways": 1,
                                                  "traffic.report_period_s": 60.0, "traffic.ul_activity": 1.0}),
    "deep_sleep_38y": _example("small", 20.0, **{"topology.sensors": 1, "topology.gateways": 1,
                                                 "sim.warmup_s": 2.0, "traffic.report_period_s": 3600.0,
                                                 "traffic.ul_activity": 0.001, "power.rrc_release_s": 0.1,
                                                 "power.t3324_s": 0.0, "power.inactivity_timer_ms": 1}),
    "transmitting_10h": _example("small", 2.0, **{"radio": "lte", "radio_params.resource_blocks": 25,
                                                  "radio_params.catm1": False,
                                                  "radio_params.ue_tx_power_dbm": 23, "topology.sensors": 1,
                                                  "topology.gateways": 1, "traffic.report_period_s": 0.002,
                                                  "traffic.ul_activity": 1.0,
                                                  "traffic.payload_bytes": {"min": 1500, "max": 1500},
                                                  "network.buffer_bytes": 1000000}),
    "one_sensor_600s_1h": _example("small", 3600.0, **{"topology.sensors": 1, "topology.gateways": 1,
                                                       "traffic.report_period_s": 600.0,
                                                       "traffic.ul_activity": 1.0}),
    "small": _example("small", 2.0),
    "medium": _example("medium", 1.0),
}
MODES = {"one_sensor_60s": ("always_on", "drx", "edrx", "psm"), "deep_sleep_38y": ("psm",),
         "transmitting_10h": ("always_on",), "one_sensor_600s_1h": ("psm",),
         "small": ("always_on", "drx", "psm"), "medium": ("always_on", "psm")}


def run(case: str, mode: str) -> dict:
    cfg = copy.deepcopy(CASES[case])
    cfg.setdefault("power", {})["mode"] = mode
    cfg = configmod.validate(cfg)
    with tempfile.TemporaryDirectory(prefix="gaidt-power-") as d:
        r = ns3_runner.run_scenario(cfg, d, bridge=False).result
    k = r["kpis"]
    sim_s = r["run"]["simulated_s"]
    return {"case": case, "mode": mode, "sensors": cfg["topology"]["sensors"], "duration_s": cfg["duration_s"],
            "delivery_ratio": k["delivery_ratio"], "d": k["d"], "l_ms": k["l"], "l_network_ms": k["l_network_ms"],
            "goodput_bps": r["totals"]["goodput_bps"], "events_per_sim_s": round(r["run"]["events"] / sim_s),
            "wall_per_sim_s": round(r["run"]["wall_s"] / sim_s, 3), "energy_mean_j": r["power"]["energy_mean_j"],
            "battery_life_years": k["battery_life_years"],
            "battery_life_hours": k["battery_life_years"] * 365.25 * 24, "wakeups": r["power"]["wakeups"],
            "tx_ms": sum(s["power"]["tx_ms"] for s in r["sensors"]),
            "state_s": {key: sum(s["power"][key] for s in r["sensors"]) for key in
                        ("awake_s", "drx_sleep_s", "idle_paging_s", "idle_sleep_s", "psm_s", "connecting_s")},
            "dci_while_asleep": r["power"]["dci_while_asleep"], "window_s": r["power"]["window_s"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    rows = []
    for case in args.cases.split(","):
        for mode in MODES[case]:
            rows.append(run(case, mode))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out = {"load_average": os.getloadavg(), "build": ns3_runner.build_info(), "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
