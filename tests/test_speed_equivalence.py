"""The speed knobs keep the physics: stock vs fast settings, small and medium.

Tolerance (issue 7): per-sensor delivered bytes and per-sensor mean one-way
latency, two-sample Kolmogorov-Smirnov statistic <= 0.1, and aggregate goodput
and mean latency within 2%. (Measured so far: identical per-sensor results.)
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

from gaidt import config as configmod
from gaidt.knob_runs import STOCK_SIM
from gaidt.ns3_runner import run_scenario
from tests.helpers import run_each

pytestmark = pytest.mark.ns3

KS_MAX = 0.1
REL_TOL = 0.02


@pytest.mark.parametrize("topology,duration_s", [("small", 3.0), ("medium", 0.5)])
def test_fast_knobs_match_stock_within_tolerance(tmp_path, topology, duration_s):
    base = copy.deepcopy(configmod.example(topology))
    base["duration_s"] = duration_s
    fast = configmod.validate(base)
    slow = copy.deepcopy(base)
    slow["sim"].update(STOCK_SIM)
    slow = configmod.validate(slow)
    assert fast["sim"] != slow["sim"]
    rf = run_scenario(fast, tmp_path / "fast", bridge=False).result
    rs = run_scenario(slow, tmp_path / "stock", bridge=False).result
    assert rf["sensors_attached"] == rs["sensors_attached"] == fast["topology"]["sensors"]

    gf = np.array([s["rx_bytes"] for s in rf["sensors"]])
    gs = np.array([s["rx_bytes"] for s in rs["sensors"]])
    lf = np.array([s["latency_mean_ms"] for s in rf["sensors"] if s["rx_packets"]])
    ls = np.array([s["latency_mean_ms"] for s in rs["sensors"] if s["rx_packets"]])
    assert gs.sum() > 0
    assert stats.ks_2samp(gf, gs).statistic <= KS_MAX
    assert stats.ks_2samp(lf, ls).statistic <= KS_MAX
    assert gf.sum() == pytest.approx(gs.sum(), rel=REL_TOL)
    assert lf.mean() == pytest.approx(ls.mean(), rel=REL_TOL)


def test_dl_ctrl_aggregate_is_exact(tmp_path):
    """Summing the other gateways' control frames into one signal changes no result.

    Medium topology (8 gateways), fast knobs otherwise: per-sensor delivered bytes,
    latency, SINR and RSRP must be identical to per-cell delivery, and the run must
    process fewer events (the point of the change).
    """
    base = copy.deepcopy(configmod.example("medium"))
    base["duration_s"] = 0.3
    results = run_each(base, "sim.dl_ctrl_interference", ("per_cell", "aggregate"), tmp_path)
    per_cell, agg = results["per_cell"], results["aggregate"]
    assert per_cell["sensors_attached"] == base["topology"]["sensors"]
    assert sum(s["rx_bytes"] for s in per_cell["sensors"]) > 0
    for key in ("rx_bytes", "rx_packets", "latency_mean_ms", "sinr_db", "rsrp_dbm"):
        assert [s[key] for s in agg["sensors"]] == [s[key] for s in per_cell["sensors"]], key
    assert agg["run"]["events"] < 0.6 * per_cell["run"]["events"]
