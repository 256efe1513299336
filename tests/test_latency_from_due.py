"""Latency and deadline count from the moment a report is due (issue 11): a report deferred by
traffic.access_spread_s spends its deferral in l, l_p95_ms, d and late_ratio; l_network_ms keeps
the send-to-receive part. Real ns-3 runs of the small city on the same seed."""
from __future__ import annotations

import pytest

from gaidt.ns3_runner import run_scenario
from gaidt.stats import paired_change, period_series, stability
from tests.helpers import small_config


def _mmtc(spread_s: float) -> dict:
    return small_config(**{"duration_s": 2.0, "traffic.service": "mmtc", "traffic.synchronized_periods": True,
                           "traffic.report_period_s": 0.5, "traffic.access_spread_s": spread_s,
                           "traffic.ul_activity": 0.45, "network.deadline_ms": 100})


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    out = tmp_path_factory.mktemp("due")
    return (run_scenario(_mmtc(0.0), out / "now", bridge=False).result,
            run_scenario(_mmtc(0.4), out / "spread", bridge=False).result)


@pytest.mark.ns3
def test_deferral_shows_in_latency_and_deadline(pair):
    now, spread = pair
    kn, ks = now["kpis"], spread["kpis"]
    # sent at once: latency from the due time is the network latency
    assert kn["l"] == pytest.approx(kn["l_network_ms"], abs=1e-6)
    # deferred by U(0, 0.4 s): mean deferral 200 ms on top of the network latency
    deferral_ms = ks["l"] - ks["l_network_ms"]
    assert 150 < deferral_ms < 250, deferral_ms
    assert ks["l_p95_ms"] > 300 and ks["d"] < kn["d"] and ks["late_ratio"] > kn["late_ratio"]
    for s in spread["sensors"]:
        if s["rx_packets"]:
            assert s["latency_mean_ms"] >= s["network_latency_mean_ms"]


@pytest.mark.unit
def test_period_windows_and_paired_change():
    bps = [4, 0, 0, 0, 0, 6, 0, 0, 0, 0]  # 0.05 s windows, one burst per 0.25 s period
    assert list(period_series(bps, 0.05, 0.25)) == [0.8, 1.2]
    assert stability(period_series(bps, 0.05, 0.25)) == pytest.approx(1 / 1.2)
    with pytest.raises(ValueError, match="whole number"):
        period_series(bps, 0.1, 0.25)
    m, lo, hi, n = paired_change([1.1, 1.2, 0.9], [1.0, 1.0, 1.0])
    assert n == 3 and m == pytest.approx(100 * (0.1 + 0.2 - 0.1) / 3) and lo < m < hi
    assert paired_change([1.0], [2.0])[:1] == (-50.0,) and paired_change([1.0], [0.0])[3] == 0
