"""Reproduce and measure uplink starvation in the physical twin (issue 13).

Runs a scenario with each uplink fix switched off and on, and writes one CSV
row per (case, variant) with rho, d, l and the sensors by status, plus a CSV
of every non-served sensor with its evidence (grants, MCS, BSRs, SRS SINR,
link budget). Everything comes from ns-3 runs of the repository's binary.

    .venv/bin/python ns3-scenarios/examples/uplink_starvation.py --cases small --out DIR
    .venv/bin/python ns3-scenarios/examples/uplink_starvation.py --cases small,city400 --out DIR

Cases:
  small      examples/small.json, seed 1 (the README's sensors 0, 1 and 45)
  city400    400 sensors, 6 gateways, clustered, 1.5 km, LTE, closest, mMTC 70%, seed 7
  lb40       40 sensors, 3 gateways, clustered, LTE, load_balanced (the dead-zone case)
  medium, large  examples/{medium,large}.json (large: use --duration-s 1)
Variants (sim.* and topology.* overrides; "stock" is ns-3 as before issue 13):
  stock        srs_plan=ns3, ul_grant_guard=false, srs_power_scaling=false, ue_pcmax=ns3
  guard        stock + ul_grant_guard (7-byte UL grants raised to 8 bytes)
  srs          stock + srs_plan=per_gateway (no SRS collisions between gateways)
  pcmax        stock + ue_pcmax=radio (the UE power cap follows radio_params)
  scaling      stock + srs_power_scaling (SRS UL-CQI scaled to the granted PRBs)
  fixed_no_scaling  the defaults without srs_power_scaling
  fixed        the defaults (all of the above)
  fixed_pusch  fixed + ul_cqi=pusch
  fixed_centroids  fixed with gateway_placement=sensor_centroids
  stock_per_cell  stock + dl_ctrl_interference=per_cell + max_loss_db=0 (our speed filters off)
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from experiments import ns3_runner  # noqa: E402
from gaidt import config as configmod  # noqa: E402

STOCK = {"sim": {"srs_plan": "ns3", "ul_grant_guard": False, "srs_power_scaling": False, "ue_pcmax": "ns3"}}

VARIANTS = {
    "stock": STOCK,
    "guard": {"sim": {**STOCK["sim"], "ul_grant_guard": True}},
    "srs": {"sim": {**STOCK["sim"], "srs_plan": "per_gateway"}},
    "pcmax": {"sim": {**STOCK["sim"], "ue_pcmax": "radio"}},
    "scaling": {"sim": {**STOCK["sim"], "srs_power_scaling": True}},
    "fixed_no_scaling": {"sim": {"srs_power_scaling": False}},
    "fixed": {},
    "fixed_pusch": {"sim": {"ul_cqi": "pusch"}},
    "fixed_centroids": {"topology": {"gateway_placement": "sensor_centroids"}},
    "stock_per_cell": {"sim": {**STOCK["sim"], "dl_ctrl_interference": "per_cell", "max_loss_db": 0}},
}


def case_config(name: str) -> dict:
    """The base (user-level) config of a case."""
    if name in ("small", "medium", "large"):
        return configmod.example(name)
    if name == "city400":
        return {"name": "city400", "seed": 7, "duration_s": 5, "radio": "lte",
                "topology": {"sensors": 400, "gateways": 6, "area_m": 1500, "placement": "clustered"},
                "traffic": {"service": "mmtc", "ul_activity": 0.7, "payload_bytes": {"min": 24, "max": 250},
                            "report_period_s": 1.0},
                "network": {"buffer_bytes": 10240, "deadline_ms": 100, "scheduler": "pf", "association": "closest"},
                "twin": {"twinning_rate": 0.8, "period_s": 0.1}}
    if name == "lb40":
        return {"name": "lb40", "seed": 3, "duration_s": 5, "radio": "lte",
                "topology": {"sensors": 40, "gateways": 3, "area_m": 1000, "placement": "clustered"},
                "traffic": {"service": "mmtc", "ul_activity": 0.45, "payload_bytes": {"min": 24, "max": 250},
                            "report_period_s": 1.0},
                "network": {"buffer_bytes": 10240, "deadline_ms": 100, "scheduler": "pf",
                            "association": "load_balanced"},
                "twin": {"twinning_rate": 0.8, "period_s": 0.1}}
    raise SystemExit(f"unknown case '{name}': allowed small, city400, lb40, medium, large")


def apply_variant(cfg: dict, variant: str, duration_s: float | None) -> dict:
    cfg = copy.deepcopy(cfg)
    for section, values in VARIANTS[variant].items():
        cfg.setdefault(section, {}).update(values)
    if duration_s:
        cfg["duration_s"] = duration_s
    return configmod.validate(cfg)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="small", help="comma-separated: small, city400, lb40, medium, large")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, from: " + ", ".join(VARIANTS))
    ap.add_argument("--duration-s", type=float, default=None, help="override duration_s (e.g. 1 for large)")
    ap.add_argument("--out", required=True, help="directory for runs, summary.csv and sensors.csv")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            print(f"unknown variant '{v}': allowed {', '.join(VARIANTS)}", file=sys.stderr)
            return 2
    summary, sensors = [], []
    for case in [c for c in args.cases.split(",") if c]:
        base = case_config(case)
        for variant in variants:
            cfg = apply_variant(base, variant, args.duration_s)
            run_dir = out / f"{case}-{variant}"
            outcome = ns3_runner.run_scenario(cfg, run_dir, bridge=False)
            r = outcome.result
            k = r["kpis"]
            silent = [s for s in r["sensors"] if s["tx_packets"] > 0 and s["rx_packets"] == 0]
            # SRS SINR more than 1 dB under the SRS's noise-only SNR (link.ul_snr_db is for 3 PRBs; the
            # SRS spreads the same power over all RBs): interference from other sensors' SRS
            rbs = cfg["radio_params"]["resource_blocks"]
            srs_hit = sum(1 for s in r["sensors"] if s["uplink"]["srs_sinr_db"] is not None
                          and s["link"]["ul_snr_db"] - 10 * math.log10(rbs / 3) - s["uplink"]["srs_sinr_db"] > 1)
            row = {"case": case, "variant": variant, "seed": cfg["seed"], "duration_s": cfg["duration_s"],
                   "sensors": r["sensors_total"], "rho": round(k["rho"], 4), "d": round(k["d"], 4),
                   "l_ms": round(k["l"], 2), "delivery_ratio": round(k["delivery_ratio"], 4),
                   "served": k["sensors_served"], "unreachable": k["sensors_unreachable"],
                   "starved": k["sensors_starved"], "silent": len(silent),
                   "silent_dl_sinr_ge_0": sum(1 for s in silent if s["sinr_db"] >= 0),
                   "grants_raised": sum(s["uplink"]["grants_raised"] for s in r["sensors"]),
                   "srs_interfered": srs_hit,
                   "wall_s": round(r["run"]["wall_s"], 1)}
            summary.append(row)
            print(",".join(f"{k_}={v_}" for k_, v_ in row.items()), flush=True)
            for s in r["sensors"]:
                if s["status"] == "served":
                    continue
                u = s["uplink"]
                sensors.append({"case": case, "variant": variant, "id": s["id"], "status": s["status"],
                                "gateway": s["attached_gateway"], "tx_packets": s["tx_packets"],
                                "rx_packets": s["rx_packets"], "dl_sinr_db": round(s["sinr_db"], 1),
                                "rsrp_dbm": round(s["rsrp_dbm"], 1), "pathloss_db": round(s["link"]["pathloss_db"], 1),
                                "ul_snr_db": round(s["link"]["ul_snr_db"], 1),
                                "dl_snr_db": round(s["link"]["dl_snr_db"], 1),
                                "grants": u["grants"], "grants_unusable": u["grants_unusable"],
                                "grants_raised": u["grants_raised"], "mcs_min": u["mcs_min"], "mcs_max": u["mcs_max"],
                                "bsrs": u["bsrs"], "tb_ok": u["tb_ok"], "tb_error": u["tb_error"],
                                "srs_sinr_db": None if u["srs_sinr_db"] is None else round(u["srs_sinr_db"], 1),
                                "reason": s["status_reason"]})
    for name, rows in (("summary.csv", summary), ("sensors.csv", sensors)):
        if rows:
            with open(out / name, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {out / 'summary.csv'} and {out / 'sensors.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
