"""Batching ns-3's PF scheduler's idle TTIs changes no result (ns3-scenarios/model/fast/pf-idle-tti.h).

gaidt::PfIdleTti does a PF TTI in which nothing can be scheduled (downlink: no logical channel
with data, no random-access response, no HARQ feedback; uplink: no buffer status above 0, no
negative HARQ feedback) without PF, and batches its per-UE bookkeeping (CQI and HARQ timers, UL
HARQ ids, throughput averages) until PF is next called. The claim is exactness: with
sim.pf_idle_tti true or false the same config gives the same events, KPIs, power accounts and
per-sensor and per-gateway results, bit for bit, in runs where the downlink carries data (TIC
responses, RRC signalling during attach, random-access responses), and most TTIs are idle.

In those runs CQI reports never outlive PF's 1000-TTI CQI timer and HARQ feedback always comes,
so gaidt-pf-idle-tti-check drives ns-3's PF and PF behind PfIdleTti side by side through random
scheduler call sequences with a 20-TTI CQI timer (DL and UL), missing DL HARQ feedback, failed
UL receptions, UEs coming and going, random-access responses, buffer reports and quiet stretches
of up to 80 TTIs, comparing every decision after every TTI and PF's kept state at random TTIs.
Hand mutants (2026-11-28) of the batching: a timer off by one at expiry, the HARQ timeout
compared with >= or wrapped mod 11, the throughput decay or the UL HARQ id step applied once per
batch, no UL CQI count-down, the HARQ status not freed, stale "no data" / "no BSR" flags, a
negative UL feedback taken as idle, the RACH map not reset: each fails the check on seeds 1-5
but one (the >= mutant: on 3 of the 5).
"""
from __future__ import annotations

import copy
import subprocess

import pytest

from gaidt import config as configmod
from gaidt.ns3_runner import BUILD_DIR
from tests.helpers import assert_same_run, run_each, small_config

pytestmark = pytest.mark.ns3

CHECK = BUILD_DIR / "ns3-scenarios" / "gaidt-pf-idle-tti-check"

CASES = {
    # downlink responses to every report, competing sensors in one cell: PF's averages decide
    "tic_always_on": {"duration_s": 2.0, "traffic.service": "tic", "power.mode": "always_on",
                      "traffic.ul_activity": 0.9},
    # DRX with DL responses to sleeping sensors; PSM wake-ups with random access
    "tic_drx": {"duration_s": 2.0, "traffic.service": "tic", "power.mode": "drx",
                "power.inactivity_timer_ms": 1},
    "psm_wakeups": {"duration_s": 3.0, "power.mode": "psm", "power.rrc_release_s": 0.3,
                    "power.t3324_s": 0.2, "traffic.report_period_s": 1.0},
}


OFF = {"on": False, "dl_triggers": 0, "dl_idle": 0, "ul_triggers": 0, "ul_idle": 0, "flushes": 0}


def _same(off: dict, on: dict) -> None:
    assert off["run"]["pf_idle_tti"] == OFF
    assert_same_run(off, on)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pf_idle_tti_is_bit_identical(tmp_path, case):
    cfg = small_config(**CASES[case])
    results = run_each(cfg, "sim.pf_idle_tti", (False, True), tmp_path)
    off, on = results[False], results[True]
    _same(off, on)
    assert off["sensors_attached"] == cfg["topology"]["sensors"]
    assert sum(s["rx_packets"] for s in off["sensors"]) > 0
    pf = on["run"]["pf_idle_tti"]
    ttis = cfg["topology"]["gateways"] * (cfg["sim"]["warmup_s"] + cfg["duration_s"]
                                          + cfg["sim"]["drain_s"]) * 1000
    assert pf["on"] and pf["dl_triggers"] == pytest.approx(ttis, rel=0.01) == pf["ul_triggers"]
    # most TTIs idle, and enough busy ones (data, RAR, HARQ feedback, BSRs) to go through ns-3's
    # code, and batches longer than one TTI
    for d in ("dl", "ul"):
        assert pf[f"{d}_idle"] > 0.5 * pf[f"{d}_triggers"]
        assert pf[f"{d}_triggers"] - pf[f"{d}_idle"] >= 20
    assert 20 <= pf["flushes"] < 0.8 * pf["dl_idle"]


def test_pf_idle_tti_on_medium_psm(tmp_path):
    """The bench's shape (lte-m defaults, mMTC at 45% UL activity) on 8 cells."""
    base = copy.deepcopy(configmod.example("medium"))
    base["duration_s"] = 0.5
    base["traffic"]["service"] = "mmtc"
    base["traffic"]["ul_activity"] = 0.45
    base.pop("power", None)  # lte-m: psm by default
    results = run_each(base, "sim.pf_idle_tti", (False, True), tmp_path)
    _same(results[False], results[True])
    assert results[True]["run"]["pf_idle_tti"]["dl_idle"] > 0.8 * 8 * 1500


def test_pf_idle_tti_only_with_pf(tmp_path):
    """Another scheduler runs as ns-3 has it: the batching reports itself off."""
    cfg = small_config(**{"duration_s": 0.5, "network.scheduler": "rr"})
    on = run_each(cfg, "sim.pf_idle_tti", (True,), tmp_path)[True]
    assert on["run"]["pf_idle_tti"] == OFF


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_pf_idle_tti_check_agrees_with_ns3s_pf(seed):
    out = subprocess.run([str(CHECK), f"--seed={seed}", "--ttis=20000"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = dict(zip(out.stdout.split()[0::2], map(int, out.stdout.split()[1::2])))
    # both kinds of TTI, many idle-to-busy transitions, batches, state compared often
    assert 2000 < counts["idle"] < 18000 and 2000 < counts["ul_idle"] < 19900
    assert counts["busy_after_idle"] > 100 and counts["flushes"] > 1000
    assert counts["state_checks"] > 500
