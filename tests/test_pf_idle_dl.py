"""Skipping ns-3's PF search in idle downlink TTIs changes no result (ns3-scenarios/pf-idle-dl.h).

gaidt::PfIdleDlTrigger does a PF downlink TTI in which nothing can be allocated (no logical
channel with data, no random-access response, no HARQ feedback) as bookkeeping only: ns-3's own
CQI and HARQ refreshes, UL HARQ ids, throughput averages. The claim is exactness: with
sim.pf_idle_dl true or false the same config gives the same events, KPIs, power accounts and
per-sensor and per-gateway results, bit for bit, in runs where the downlink carries data (TIC
responses, RRC signalling during attach, random-access responses), and most TTIs are idle.

In those runs CQI reports never outlive PF's 1000-TTI CQI timer and HARQ feedback always comes,
so gaidt-pf-idle-dl-check drives ns-3's PF and PF behind the skip side by side through random
scheduler call sequences with a 20-TTI CQI timer, missing HARQ feedback, UEs coming and going,
random-access responses and UL buffer reports, comparing every decision and PF's kept state
after every TTI. Hand mutants of the skip (no throughput decay, no CQI refresh, no HARQ refresh,
no UL HARQ id step, a stale "no data" flag) each make it fail on every seed used here; dropping
the RACH map resize does not, since PF's UL trigger resizes that map every TTI anyway.
"""
from __future__ import annotations

import copy
import subprocess

import pytest

from gaidt import config as configmod
from gaidt.ns3_runner import BUILD_DIR
from tests.conftest import run_each, small_config

CHECK = BUILD_DIR / "ns3-scenarios" / "gaidt-pf-idle-dl-check"

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


def _same(off: dict, on: dict) -> None:
    assert on["run"]["events"] == off["run"]["events"]
    assert off["run"]["pf_idle_dl"] == {"on": False, "triggers": 0, "idle_triggers": 0}
    for section in ("totals", "kpis", "power", "random_access", "sensors", "gateways",
                    "throughput_series"):
        assert on[section] == off[section], section


@pytest.mark.parametrize("case", sorted(CASES))
def test_pf_idle_dl_is_bit_identical(tmp_path, case):
    cfg = small_config(**CASES[case])
    results = run_each(cfg, "sim.pf_idle_dl", (False, True), tmp_path)
    off, on = results[False], results[True]
    _same(off, on)
    assert off["sensors_attached"] == cfg["topology"]["sensors"]
    assert sum(s["rx_packets"] for s in off["sensors"]) > 0
    dl = on["run"]["pf_idle_dl"]
    ttis = cfg["topology"]["gateways"] * (cfg["sim"]["warmup_s"] + cfg["duration_s"]
                                          + cfg["sim"]["drain_s"]) * 1000
    assert dl["on"] and dl["triggers"] == pytest.approx(ttis, rel=0.01)
    # most TTIs idle, and enough busy ones (data, RAR, HARQ feedback) to go through ns-3's search
    assert dl["idle_triggers"] > 0.5 * dl["triggers"]
    assert dl["triggers"] - dl["idle_triggers"] >= 20


def test_pf_idle_dl_on_medium_psm(tmp_path):
    """The bench's shape (lte-m defaults, mMTC at 45% UL activity) on 8 cells."""
    base = copy.deepcopy(configmod.example("medium"))
    base["duration_s"] = 0.5
    base["traffic"]["service"] = "mmtc"
    base["traffic"]["ul_activity"] = 0.45
    base.pop("power", None)  # lte-m: psm by default
    results = run_each(base, "sim.pf_idle_dl", (False, True), tmp_path)
    _same(results[False], results[True])
    assert results[True]["run"]["pf_idle_dl"]["idle_triggers"] > 0.8 * 8 * 1500


def test_pf_idle_dl_only_with_pf(tmp_path):
    """Another scheduler runs as ns-3 has it: the skip reports itself off."""
    cfg = small_config(**{"duration_s": 0.5, "network.scheduler": "rr"})
    on = run_each(cfg, "sim.pf_idle_dl", (True,), tmp_path)[True]
    assert on["run"]["pf_idle_dl"] == {"on": False, "triggers": 0, "idle_triggers": 0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pf_idle_dl_check_agrees_with_ns3s_pf(seed):
    out = subprocess.run([str(CHECK), f"--seed={seed}", "--ttis=20000"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = dict(zip(out.stdout.split()[0::2], map(int, out.stdout.split()[1::2])))
    # both kinds of TTI, and many idle-to-busy transitions
    assert 2000 < counts["idle"] < 18000 and counts["busy_after_idle"] > 100
