"""One config, one knob changed: ns-3's stock speed settings and runs that compare a knob's values.

Shared by the bench (`run.py bench sim`, stock vs fast), the exactness tests of the speed knobs and
the benchmark scripts that record their cases (benchmarks/ue_clock_gate_cases.py).
"""
from __future__ import annotations

import copy
from pathlib import Path

from gaidt import config as configmod
from gaidt.ns3_runner import run_scenario

__all__ = ["STOCK_SIM", "UE_CLOCK_GATE_CASES", "set_field", "small_config", "run_each"]

# ns-3's own behaviour for every speed knob of the schema's `sim` section: the exact accelerations
# (event queue, UE clock gate, PF idle TTIs, cell-scoped channel, DL control aggregation, allocator)
# and the approximations (CQI period, max-loss cut-off, no RLF detection) all off.
STOCK_SIM = {"event_scheduler": "map", "ue_clock_gate": False, "pf_idle_tti": False,
             "spectrum_channel": "multi_model", "dl_ctrl_interference": "per_cell", "allocator": "system",
             "cqi_period_ms": 1, "max_loss_db": 0, "rlf_detection": True}

# Dotted overrides of the small example in which the UE clock gate meets every power-saving state.
UE_CLOCK_GATE_CASES = {
    # DL responses after a 1 ms inactivity timer: gateways address DCIs to sleeping sensors
    "tic_drx_dci_while_asleep": {"duration_s": 2.0, "traffic.service": "tic", "power.mode": "drx",
                                 "power.inactivity_timer_ms": 1},
    # released after 0.3 s, PSM after 0.2 s more: SRS skipped, every report wakes with random access
    "psm_wakeups": {"duration_s": 3.0, "power.mode": "psm", "power.rrc_release_s": 0.3,
                    "power.t3324_s": 0.2, "traffic.report_period_s": 1.0},
    "edrx_paging": {"duration_s": 3.0, "power.mode": "edrx", "power.rrc_release_s": 0.3,
                    "power.edrx_cycle_s": 5.12, "traffic.report_period_s": 1.0},
}


def set_field(cfg: dict, field: str, value) -> dict:
    """Set a dotted config field in place ("traffic.ul_activity"), creating sections; returns cfg."""
    *path, last = field.split(".")
    node = cfg
    for part in path:
        node = node.setdefault(part, {})
    node[last] = value
    return cfg


def small_config(**overrides) -> dict:
    """The small example (50 sensors / 2 gateways), 2 s of traffic, with dotted overrides, validated.

    small_config(**{"traffic.ul_activity": 0.7, "duration_s": 2})
    """
    cfg = copy.deepcopy(configmod.example("small"))
    cfg["duration_s"] = 2.0
    for key, value in overrides.items():
        set_field(cfg, key, value)
    return configmod.validate(cfg)


def run_each(base: dict, field: str, values, out: Path) -> dict:
    """Run the raw config `base` once per value of the dotted config field (validated, no bridge),
    each in out/<value>; {value: result.json}. For "same physics, one knob changed" comparisons."""
    return {value: run_scenario(configmod.validate(set_field(copy.deepcopy(base), field, value)),
                                out / str(value), bridge=False).result
            for value in values}
