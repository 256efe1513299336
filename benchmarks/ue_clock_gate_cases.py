"""The UE clock gate's exactness cases and counters, as a JSON record.

Runs the cases of tests/test_ue_clock_gate.py (gaidt.knob_runs.UE_CLOCK_GATE_CASES; small: TIC with
DRX and a 1 ms inactivity timer, so
gateways address DCIs to sleeping sensors; PSM and eDRX with wake-ups and skipped SRS) and the bench's
large PSM config, each with sim.ue_clock_gate false and true, and large PSM also with ns-3's heap
event queue (where the gate parks only sleeping sensors). For each: events, run.ue_clock, the power
summary, and whether sensors, gateways, KPIs, totals, power and random access are identical with the
gate off.

    .venv/bin/python benchmarks/ue_clock_gate_cases.py > benchmarks/ue-clock-gate-cases-YYYY-MM-DD.json
"""
from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path

from experiments import bench
from gaidt.knob_runs import UE_CLOCK_GATE_CASES as CASES
from gaidt.knob_runs import run_each, small_config

SAME = ("sensors", "gateways", "kpis", "totals", "power", "random_access")


def _record(off: dict, on: dict) -> dict:
    return {"events_off": off["run"]["events"], "events_on": on["run"]["events"],
            "ue_clock": on["run"]["ue_clock"], "power": off["power"],
            "identical": {k: on[k] == off[k] for k in SAME}}


def main() -> int:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in sorted(CASES.items()):
            r = run_each(small_config(**overrides), "sim.ue_clock_gate", (False, True), Path(tmp) / name)
            out[name] = _record(r[False], r[True])
        large = bench._cfg("large", 0.5, False, power_saving=True)
        r = run_each(large, "sim.ue_clock_gate", (False, True), Path(tmp) / "large")
        out["large_psm_bench_config"] = _record(r[False], r[True])
        heap = copy.deepcopy(large)
        heap["sim"]["event_scheduler"] = "heap"
        h = run_each(heap, "sim.ue_clock_gate", (True,), Path(tmp) / "large-heap")[True]
        out["large_psm_bench_config_heap_queue"] = _record(r[False], h)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
