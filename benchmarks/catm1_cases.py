"""LTE-M as Cat-M1 (ns3-scenarios/model/catm1-limits.h): the numbers behind docs/lte-m.md.

Real ns-3 runs, seed 1, each case with the Cat-M1 limits (radio_params.catm1 true, the lte-m
default) and without them (ns-3's 6-RB LTE MAC as is):

- saturated_cell: 1 gateway, 20 sensors within 40 m, 1000-byte reports every 20 ms each
  (far beyond any 6-RB cell), 1 s of traffic: UL goodput against the Cat-M1 arithmetic
  (2 UEs x 3 PRBs x 840 bits per 1 ms at I_TBS 14, TS 36.213 Table 7.1.7.2.1-1);
- one_sensor: the same with one sensor reporting every 5 ms (1.6 Mb/s offered): 6 PRBs capped at 1000 bits (I_TBS 9, 936 bits) and
  half-duplex FDD type B, 3 UL subframes in 8;
- far_cluster: the small example with 10 of its 50 sensors moved 5 km from both gateways;
- prach_n20_m54: 20 sensors of one cell waking from PSM together every 0.5 s for 110 s, 54
  preambles: first-attempt collision ratio against 1 - (1 - 1/M)^(n - 1).

    .venv/bin/python benchmarks/catm1_cases.py --out benchmarks/catm1-cases-DATE.json
"""
from __future__ import annotations

import argparse
import copy
import json
import tempfile
from pathlib import Path

from gaidt import config as configmod
from gaidt import ns3_runner

IP_PDCP_BYTES = 30  # UDP 8 + IPv4 20 + PDCP 2 around each application payload
PER_TB_BYTES = 4  # MAC subheader 2 + RLC UM header with length indicator 2, per transport block


def _set(cfg: dict, dotted: str, value) -> None:
    *path, last = dotted.split(".")
    node = cfg
    for part in path:
        node = node.setdefault(part, {})
    node[last] = value


def _config(overrides: dict) -> dict:
    cfg = copy.deepcopy(configmod.example("small"))
    cfg["duration_s"] = 2.0
    for key, value in overrides.items():
        _set(cfg, key, value)
    return configmod.validate(cfg)


def _saturated(sensors: int) -> dict:
    positions = [[280.0 + 40.0 * (i % 3) / 2, 280.0 + 40.0 * (i // 3) / max(1, sensors // 3)]
                 for i in range(sensors)]
    return {
        "duration_s": 1.0, "topology.sensors": sensors, "topology.gateways": 1,
        "topology.gateway_positions_m": [[300.0, 300.0]], "topology.sensor_positions_m": positions,
        "traffic.service": "mmtc", "traffic.report_period_s": 0.02 if sensors > 1 else 0.005,
        "traffic.ul_activity": 1.0,
        "traffic.payload_bytes": {"min": 1000, "max": 1000}, "traffic.synchronized_periods": False,
        "network.buffer_bytes": 20000,
    }


def _app_share(payload: int, tb_bits: int) -> float:
    tb_bytes = tb_bits / 8
    return payload / (payload + IP_PDCP_BYTES) * (tb_bytes - PER_TB_BYTES) / tb_bytes


def _far_cluster() -> dict:
    near = [[150.0 + 300.0 * (i % 2) + (i % 7) * 10.0, 150.0 + (i // 2) * 12.0] for i in range(40)]
    far = [[5300.0 + (i % 3) * 10.0, 300.0 + (i // 3) * 10.0] for i in range(10)]
    return {"topology.sensor_positions_m": near + far}


def _prach() -> dict:
    return {
        "duration_s": 110.0, "topology.sensors": 20, "topology.gateways": 1, "traffic.service": "mmtc",
        "traffic.report_period_s": 0.5, "traffic.ul_activity": 1.0,
        "traffic.payload_bytes": {"min": 24, "max": 24}, "traffic.access_spread_s": 0.001,
        "traffic.synchronized_periods": True, "power.mode": "psm", "power.rrc_release_s": 0.1,
        "power.t3324_s": 0.0, "power.random_access.preambles": 54,
    }


CASES = {
    "saturated_cell": (_saturated(20), 2 * 840 * 1000 * _app_share(1000, 840)),
    "one_sensor": (_saturated(1), 3 * 936 / 8 * 1000 * _app_share(1000, 936)),
    "far_cluster": (_far_cluster(), None),
    "prach_n20_m54": (_prach(), 1 - (1 - 1 / 54) ** 19),
}


def _summary(r: dict) -> dict:
    ups = [s["uplink"] for s in r["sensors"] if s["uplink"]["grants"]]
    return {
        "goodput_bps": r["totals"]["goodput_bps"],
        "offered_bps": r["totals"]["offered_bps"],
        "rx_bytes_in_drain": r["totals"]["rx_bytes_in_drain"],
        "ul_mcs_max": max((u["mcs_max"] for u in ups), default=None),
        "ul_bytes_per_grant_max": max((u["grant_bytes"] / u["grants"] for u in ups), default=None),
        "rho": r["kpis"]["rho"],
        "d": r["kpis"]["d"],
        "sensors_out_of_coverage": r["sensors_out_of_coverage"],
        "sensors_unreachable": r["kpis"]["sensors_unreachable"],
        "mcl_db": r["link_budget"]["mcl_db"],
        "catm1": r["run"]["catm1"],
        "prach": r["random_access"].get("prach"),
        "events": r["run"]["events"],
        "wall_s": r["run"]["wall_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = {"command": "benchmarks/catm1_cases.py", "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (overrides, reference) in CASES.items():
            for catm1 in (True, False):
                if name == "prach_n20_m54" and not catm1:
                    continue  # the PRACH model does not depend on the MAC
                cfg = _config(dict(overrides, **{"radio_params.catm1": catm1}))
                r = ns3_runner.run_scenario(cfg, Path(tmp) / f"{name}-{catm1}", bridge=False).result
                entry = out["cases"].setdefault(name, {"reference": reference})
                entry["catm1" if catm1 else "ns3_lte_6rb"] = _summary(r)
                print(name, "catm1" if catm1 else "plain", round(r["totals"]["goodput_bps"]), flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
