"""The UE clock gate changes no result (ns3-scenarios/model/fast/ue-clock-gate.h).

gaidt::UeClockGate parks an idle sensor's UE PHY clock and does the PHY's and MAC's
per-subframe state update itself while they have nothing queued, no SRS occasion, no fresh BSR
and no live UL HARQ process. The claim is exactness: with sim.ue_clock_gate true or false, the
same config gives the same events, KPIs, power accounts and per-sensor results, bit for bit, in
every power-saving state (DRX sleep, DCIs to sleeping sensors, idle and PSM with skipped SRS and
random-access wake-ups), and the gate really runs most UE subframes. Dropping its SRS and BSR
checks (one hand mutant) makes these comparisons fail (checked when the gate was written). tests/
test_power_saving.py's always_on golden test runs through the gate too (default config).
"""
from __future__ import annotations

import copy

import pytest

from gaidt import config as configmod
from gaidt.knob_runs import UE_CLOCK_GATE_CASES
from tests.helpers import assert_same_run, run_each, small_config

pytestmark = pytest.mark.ns3

CASES = UE_CLOCK_GATE_CASES


def _same(off: dict, on: dict) -> None:
    assert off["run"]["ue_clock"] == {"gated": False, "gated_subframes": 0, "parks": 0}
    assert_same_run(off, on)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ue_clock_gate_is_bit_identical(tmp_path, case):
    cfg = small_config(**CASES[case])
    results = run_each(cfg, "sim.ue_clock_gate", (False, True), tmp_path)
    off, on = results[False], results[True]
    _same(off, on)
    assert off["sensors_attached"] == cfg["topology"]["sensors"]
    assert sum(s["rx_packets"] for s in off["sensors"]) > 0
    ue_subframes = cfg["topology"]["sensors"] * (cfg["sim"]["warmup_s"] + cfg["duration_s"]
                                                 + cfg["sim"]["drain_s"]) * 1000
    assert on["run"]["ue_clock"]["gated_subframes"] > 0.3 * ue_subframes
    power = off["power"]
    if case == "tic_drx_dci_while_asleep":
        assert power["dci_while_asleep"] > 10
    else:
        assert power["wakeups"] > 10 and power["srs_skipped"] > 100


def test_ue_clock_gate_on_medium_psm_and_always_on(tmp_path):
    """With the default event queue (quad_heap, which releases the parked clocks' events) the gate
    parks any idle sensor, always_on included; with ns-3's heap only sleeping ones."""
    base = copy.deepcopy(configmod.example("medium"))
    base["duration_s"] = 0.5
    base.pop("power", None)  # lte-m: psm by default
    results = run_each(base, "sim.ue_clock_gate", (False, True), tmp_path / "psm")
    _same(results[False], results[True])
    assert results[True]["run"]["ue_clock"]["gated_subframes"] > 100_000
    base["power"] = {"mode": "always_on"}
    results = run_each(base, "sim.ue_clock_gate", (False, True), tmp_path / "on")
    _same(results[False], results[True])
    assert results[True]["run"]["ue_clock"]["gated_subframes"] > 100_000
    base["sim"]["event_scheduler"] = "heap"
    on = run_each(base, "sim.ue_clock_gate", (True,), tmp_path / "on-heap")[True]
    assert on["run"]["ue_clock"] == {"gated": False, "gated_subframes": 0, "parks": 0}
    assert on["sensors"] == results[True]["sensors"]
