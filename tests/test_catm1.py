"""LTE-M that behaves like LTE-M (ns3-scenarios/model/catm1-limits.h): Cat-M1 rate limits, coverage,
goodput over the traffic window, random-access counters that add up.

Every check runs the real scenario binary with fixed seeds and compares it with a number from
3GPP or a textbook, stated beside it:
- a saturated lte-m cell carries what Cat-M1 allows: TS 36.213 Table 8.6.1-2 (CE mode A, 4-bit
  MCS, 16QAM: I_TBS <= 14) and TS 36.306 Table 4.1A-2 (UE category M1: <= 1000 bits per UL
  transport block), on ns-3's 6-RB carrier where the PF scheduler gives a UE at least 3 PRBs;
- one saturating Cat-M1 sensor is held to half-duplex FDD type B: at most 3 UL subframes in 8;
- a cluster far beyond the maximum coupling loss is reported unreachable, the run goes on;
- goodput counts the traffic window only;
- the first-attempt preamble collision ratio matches 1 - (1 - 1/M)^(n - 1).
"""
from __future__ import annotations

import json

import jsonschema
import pytest

from gaidt.ns3_runner import run_scenario
from tests.helpers import REPO, small_config

pytestmark = pytest.mark.ns3

RESULT_SCHEMA = json.loads((REPO / "ns3-scenarios" / "result.schema.json").read_text())

# 3GPP TS 36.213 Table 7.1.7.2.1-1, N_PRB = 3 and 6: TBS (bits) by I_TBS
TBS_3PRB = {13: 776, 14: 840}
TBS_6PRB = {9: 936, 10: 1032, 14: 1736}
# bytes around each application payload on its way up: UDP 8 + IPv4 20 + PDCP 2 (ns-3's LtePdcp
# header), and per 1 ms transport block the MAC subheader (2) and the RLC UM header with its
# segment length indicator (2)
IP_PDCP_BYTES = 30
PER_TB_BYTES = 4


def _run(cfg: dict, path) -> dict:
    result = run_scenario(cfg, path, bridge=False).result
    jsonschema.validate(result, RESULT_SCHEMA)
    return result


def _saturated_cell(sensors: int, **extra) -> dict:
    """One gateway, sensors within 40 m of it (top MCS), 1000-byte reports every 20 ms from every
    sensor (every 5 ms when alone: 1.6 Mb/s): far more than any 6-RB cell carries."""
    positions = [[280.0 + 40.0 * (i % 3) / 2, 280.0 + 40.0 * (i // 3) / max(1, sensors // 3)]
                 for i in range(sensors)]
    overrides = {
        "duration_s": 1.0,
        "topology.sensors": sensors,
        "topology.gateways": 1,
        "topology.gateway_positions_m": [[300.0, 300.0]],
        "topology.sensor_positions_m": positions,
        "traffic.service": "mmtc",
        "traffic.report_period_s": 0.02 if sensors > 1 else 0.005,
        "traffic.ul_activity": 1.0,
        "traffic.payload_bytes": {"min": 1000, "max": 1000},
        "traffic.synchronized_periods": False,
        "network.buffer_bytes": 20000,
    }
    overrides.update(extra)
    return small_config(**overrides)


def _app_share(payload_bytes: int, tb_bits: int) -> float:
    """Share of a transport block's bits that are application payload (headers above)."""
    tb_bytes = tb_bits / 8
    return (payload_bytes / (payload_bytes + IP_PDCP_BYTES)) * ((tb_bytes - PER_TB_BYTES) / tb_bytes)


def test_saturated_cell_carries_the_catm1_ceiling(tmp_path):
    """Twenty saturating sensors: PF splits the 6 RBs into two 3-PRB grants per 1 ms subframe. At
    Cat-M1's top MCS (I_TBS 14) a 3-PRB block is 840 bits: 2 x 840 bit/ms = 1.68 Mb/s of transport
    blocks, about 1.56 Mb/s of application payload. ns-3's AMC reaches I_TBS 14 only where the
    measured SINR allows (raised from the capped CQI's MCS 14, I_TBS 13, 776 bits); near the
    gateway it does. Without the limits the same cell carries 64QAM blocks."""
    r = _run(_saturated_cell(20), tmp_path / "catm1")
    ceiling_bps = 2 * TBS_3PRB[14] * 1000 * _app_share(1000, TBS_3PRB[14])
    goodput = r["totals"]["goodput_bps"]
    assert goodput == pytest.approx(ceiling_bps, rel=0.10), (goodput, ceiling_bps)
    catm1 = r["run"]["catm1"]
    assert catm1["on"] and catm1["max_cqi"] == 8
    # MCS 15 is reached: raised from the capped CQI's MCS 14, or capped from the SRS power
    # scaling's raise (sim.srs_power_scaling), either way where the measured SINR allows it
    assert catm1["ul_mcs_raised"] + catm1["ul_mcs_capped"] > 0
    # 3-PRB blocks at I_TBS 14 are 840 bits: only TTIs with a single sensor's data (6 PRBs) are cut
    assert catm1["ul_tb_capped"] < 0.01 * catm1["ul_new_grants"]
    for s in r["sensors"]:
        up = s["uplink"]
        assert up["mcs_max"] <= 15, s["id"]  # 4-bit MCS field, 16QAM
        if up["grants"]:
            assert up["grant_bytes"] / up["grants"] <= 1000 / 8, s["id"]

    plain = _run(_saturated_cell(20, **{"radio_params.catm1": False}), tmp_path / "plain")
    assert plain["run"]["catm1"]["on"] is False
    assert max(s["uplink"]["mcs_max"] for s in plain["sensors"]) > 20  # 64QAM
    assert plain["totals"]["goodput_bps"] > 2.0 * goodput


def test_one_sensor_is_half_duplex_and_capped_at_1000_bits(tmp_path):
    """One saturating sensor gets all 6 PRBs: at I_TBS 14 that is 1736 bits, above Cat-M1's 1000,
    so the block becomes I_TBS 9 (936 bits). Half-duplex FDD type B lets it send in 3 of every 8
    subframes: 3 x 936 bits / 8 ms = 351 kb/s of blocks (the known Cat-M1 HD-FDD peak, 375 kb/s,
    is the same rule at exactly 1000 bits)."""
    r = _run(_saturated_cell(1), tmp_path / "one")
    ceiling_bps = 3 * TBS_6PRB[9] / 8 * 1000 * _app_share(1000, TBS_6PRB[9])
    assert r["totals"]["goodput_bps"] == pytest.approx(ceiling_bps, rel=0.10)
    catm1 = r["run"]["catm1"]
    assert catm1["half_duplex_enforced"] and catm1["hd_deferrals"] > 0
    assert catm1["ul_tb_capped"] > 0 and catm1["bsr_restored_bytes"] > 0


def test_far_cluster_is_unreachable_and_the_run_goes_on(tmp_path):
    """40 sensors around two gateways and a cluster of 10 sensors 5 km from both: at 5 km the
    pathloss (log-distance, exponent 3.5) is about 168 dB, far above the maximum coupling loss of
    a sensor without CE repetitions. Those ten never attach and are `unreachable` with their link
    budget; the rest is served, so rho = 40/50."""
    near = [[150.0 + 300.0 * (i % 2) + (i % 7) * 10.0, 150.0 + (i // 2) * 12.0] for i in range(40)]
    far = [[5300.0 + (i % 3) * 10.0, 300.0 + (i // 3) * 10.0] for i in range(10)]
    cfg = small_config(**{"topology.sensor_positions_m": near + far, "duration_s": 2.0})
    r = _run(cfg, tmp_path)
    assert r["sensors_out_of_coverage"] == 10
    for s in r["sensors"][40:]:
        assert not s["in_coverage"] and not s["attached"]
        assert s["status"] == "unreachable"
        assert s["link"]["pathloss_db"] > r["link_budget"]["mcl_db"]
        assert "link budget" in s["status_reason"]
    assert all(s["attached"] and s["status"] == "served" for s in r["sensors"][:40])
    assert r["kpis"]["rho"] == pytest.approx(40 / 50)
    assert r["kpis"]["sensors_unreachable"] == 10


def test_no_sensor_in_reach_is_one_line_and_exit_2(tmp_path):
    from gaidt.errors import GaidtError

    far = [[9000.0 + i, 9000.0] for i in range(5)]
    cfg = small_config(**{"topology.sensors": 5, "topology.sensor_positions_m": far})
    with pytest.raises(GaidtError) as err:
        run_scenario(cfg, tmp_path, bridge=False)
    assert "no sensor is within reach" in str(err.value)
    assert "coupling loss" in str(err.value)


def test_goodput_never_exceeds_the_traffic_window(tmp_path):
    """A saturated cell leaves a backlog that the drain delivers: those bytes count in rx_bytes
    and delivery, not in goodput (bytes delivered in the window / the window)."""
    r = _run(_saturated_cell(20, **{"sim.drain_s": 1.0}), tmp_path)
    t = r["totals"]
    assert t["rx_bytes_in_drain"] > 0
    assert t["rx_bytes"] == t["rx_bytes_in_window"] + t["rx_bytes_in_drain"]
    assert t["goodput_bps"] == pytest.approx(8 * t["rx_bytes_in_window"] / r["duration_s"])
    assert t["goodput_bps"] < 8 * t["rx_bytes"] / r["duration_s"]
    assert sum(g["goodput_bps"] for g in r["gateways"]) == pytest.approx(t["goodput_bps"])
    assert sum(s["goodput_bps"] for s in r["sensors"]) == pytest.approx(t["goodput_bps"])
    # the window's series never reports more than the window carried
    assert sum(r["throughput_series"]["bps"]) * r["throughput_series"]["window_s"] == pytest.approx(
        8 * t["rx_bytes_in_window"], rel=1e-9)


def test_first_attempt_collisions_match_the_formula(tmp_path):
    """n = 20 sensors of one cell wake from PSM together every 0.5 s and send their first
    preamble in the same PRACH occasion, M = 54 preambles: a first attempt collides with
    probability 1 - (1 - 1/M)^(n - 1) = 0.298. Over >= 200 such occasions the measured ratio is
    within 10% of it, and the counters add up."""
    n, m = 20, 54
    cfg = small_config(**{
        "duration_s": 110.0,
        "topology.sensors": n,
        "topology.gateways": 1,
        "traffic.service": "mmtc",
        "traffic.report_period_s": 0.5,
        "traffic.ul_activity": 1.0,
        "traffic.payload_bytes": {"min": 24, "max": 24},
        "traffic.access_spread_s": 0.001,
        "traffic.synchronized_periods": True,
        "power.mode": "psm",
        "power.rrc_release_s": 0.1,
        "power.t3324_s": 0.0,
        "power.random_access.preambles": m,
    })
    r = _run(cfg, tmp_path)
    prach = r["random_access"]["prach"]
    cells = r["random_access"]["cells"]
    assert len(cells) == 1 and cells[0]["first_attempt_collision_ratio"] == prach["first_attempt_collision_ratio"]
    assert prach["preambles"] == prach["preambles_first"] + prach["preambles_retry"]
    assert prach["preambles"] == prach["successes"] + prach["collisions"] + prach["no_rar"]
    assert prach["preambles_first"] >= 200 * n
    formula = 1 - (1 - 1 / m) ** (n - 1)
    assert prach["first_attempt_collision_ratio"] == pytest.approx(formula, rel=0.10)
    assert r["kpis"]["ra_first_attempt_collision_ratio"] == prach["first_attempt_collision_ratio"]
    # the per-attempt expectation over the occasions as they happened (retries make some n larger)
    assert prach["first_attempt_collision_ratio"] == pytest.approx(
        prach["first_attempt_collision_ratio_expected"], rel=0.05)
    # the per-sensor sums agree with the channel
    ra = r["random_access"]
    assert ra["preambles"] == prach["preambles"]
    assert ra["collisions"] == prach["collisions"] and ra["no_rar"] == prach["no_rar"]
