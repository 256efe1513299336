"""Random access on wake-ups from idle/PSM (issue 16 item 3; ns3-scenarios/model/random-access.h).

Real ns-3 runs, fixed seeds:
- one sensor waking alone never collides, and its access delay is exactly the model's
  no-contention time: the wait for the next PRACH occasion plus power.connection_setup_ms;
- sensors of one cell waking together from PSM collide, back off and retry, and both their
  access delay and their latency from the due time rise against the same load spread out;
- the same seed gives the same preamble choices, collisions and results.
"""
from __future__ import annotations

import json

import jsonschema
import pytest

from gaidt import config as configmod
from gaidt.ns3_runner import run_scenario
from tests.helpers import REPO, small_config


def _run(cfg: dict, path) -> dict:
    return run_scenario(cfg, path, bridge=False).result


def _psm_cell(sensors: int, **extra) -> dict:
    """One gateway; a report every 2 s from every sensor, released after 0.5 s straight into PSM
    (T3324 = 0), so every report after the first (sent while still connected from the attach)
    needs a new connection."""
    overrides = {
        "duration_s": 5.0,
        "topology.sensors": sensors,
        "topology.gateways": 1,
        "traffic.service": "mmtc",
        "traffic.report_period_s": 2.0,
        "traffic.ul_activity": 1.0,
        "power.mode": "psm",
        "power.rrc_release_s": 0.5,
        "power.t3324_s": 0.0,
    }
    overrides.update(extra)
    return small_config(**overrides)


@pytest.mark.unit
def test_config_needs_setup_longer_than_the_procedure():
    with pytest.raises(configmod.ConfigError, match="power.connection_setup_ms"):
        small_config(**{"power.mode": "psm", "power.connection_setup_ms": 10})
    # the fixed model (no random access) keeps accepting any setup time
    cfg = small_config(
        **{"power.mode": "psm", "power.connection_setup_ms": 10, "power.random_access.model": "fixed"}
    )
    assert cfg["power"]["random_access"]["preambles"] == 52


@pytest.mark.ns3
def test_one_sensor_alone_never_collides_and_waits_the_no_contention_time(tmp_path):
    """Wake-ups at 2.513 s and 4.513 s (warm-up 0.513 s + 2 s periods); PRACH every 20 ms, so
    the preamble goes at 2.520 / 4.520 s: access delay 7 ms + connection_setup_ms (100)."""
    cfg = _psm_cell(
        1,
        **{
            "sim.warmup_s": 0.513,
            "traffic.access_spread_s": 0.0,
            "power.random_access.prach_period_ms": 20,
        },
    )
    r = _run(cfg, tmp_path)
    s = r["sensors"][0]
    ra = s["random_access"]
    expected_ms = 7.0 + cfg["power"]["connection_setup_ms"]
    assert s["rx_packets"] == 3 and s["power"]["wakeups"] == 2
    assert ra["accesses"] == ra["preambles"] == ra["connected"] == 2
    assert ra["collisions"] == ra["no_rar"] == ra["failures"] == ra["reports_lost"] == 0
    assert ra["access_delay_min_ms"] == pytest.approx(expected_ms, abs=1e-6)
    assert ra["access_delay_max_ms"] == pytest.approx(expected_ms, abs=1e-6)
    assert ra["tx_ms"] == 4  # preamble + Msg3, twice
    # the two woken reports (of three) waited exactly the access delay before they were sent
    assert s["latency_mean_ms"] - s["network_latency_mean_ms"] == pytest.approx(2 * expected_ms / 3, abs=1e-3)
    assert r["kpis"]["ra_collision_ratio"] == 0
    assert r["kpis"]["ra_access_delay_mean_ms"] == pytest.approx(expected_ms, abs=1e-6)
    assert r["random_access"]["model"] == "contention"
    jsonschema.validate(r, json.loads((REPO / "ns3-scenarios" / "result.schema.json").read_text()))


@pytest.mark.ns3
def test_synchronized_wakeups_collide_back_off_and_wait_longer(tmp_path):
    """40 sensors of one cell wake within 1 ms of each other (synchronized periods) versus the
    same 40 with random report phases over the 2 s period: same load. A 2 s warm-up puts every
    sensor in PSM before its first report, so every report (in both runs) needs a new connection."""
    n = 40
    common = {"sim.warmup_s": 2.0, "traffic.access_spread_s": 0.001}
    sync = _run(_psm_cell(n, **common, **{"traffic.synchronized_periods": True}), tmp_path / "sync")
    spread = _run(_psm_cell(n, **common, **{"traffic.synchronized_periods": False}), tmp_path / "spread")
    rs, rp = sync["random_access"], spread["random_access"]
    # reports at 2, 4 and 6 s of the 7 s traffic period: every one woke its sensor
    assert rs["accesses"] == sync["totals"]["tx_packets"] + rs["reports_lost"] == 3 * n
    # (random phases: a report due just before the end can still be connecting when it comes)
    assert rp["accesses"] >= spread["totals"]["tx_packets"] + rp["reports_lost"] >= 2 * n
    # synchronized: collisions, so more preambles than accesses (backoff and retry)
    assert rs["collisions"] >= n // 4
    assert rs["preambles"] > rs["accesses"]
    # every preamble either connected its sensor or failed (collision, or no RAR)
    assert rs["preambles"] == rs["connected"] + rs["collisions"] + rs["no_rar"]
    assert rs["collision_ratio"] > 5 * rp["collision_ratio"]
    # every access that went through waited at least the setup; contention added to it
    setup = _psm_cell(n)["power"]["connection_setup_ms"]
    assert rs["access_delay_min_ms"] >= setup
    assert rs["access_delay_mean_ms"] > rp["access_delay_mean_ms"] + 20
    assert rs["access_delay_max_ms"] > setup + 48  # at least one retry after a contention resolution timeout
    # the latency from the due time rises with it (no deferral in either: access_spread_s 1 ms)
    assert sync["kpis"]["l"] > spread["kpis"]["l"] + 20
    assert sync["kpis"]["ra_collision_ratio"] == rs["collision_ratio"]
    # per-sensor counts add up to the summary
    assert sum(s["random_access"]["collisions"] for s in sync["sensors"]) == rs["collisions"]
    assert sum(s["random_access"]["preambles"] for s in sync["sensors"]) == rs["preambles"]


@pytest.mark.ns3
def test_few_preambles_and_a_low_transmission_limit_lose_reports(tmp_path):
    """2 preambles, preambleTransMax 3: most of 20 synchronized sensors give up; their reports are
    lost and counted against delivery and deadline."""
    cfg = _psm_cell(
        20,
        **{
            "traffic.access_spread_s": 0.001,
            "power.random_access.preambles": 2,
            "power.random_access.preamble_trans_max": 3,
        },
    )
    r = _run(cfg, tmp_path)
    ra = r["random_access"]
    assert ra["failures"] > 0
    assert ra["reports_lost"] == r["kpis"]["ra_reports_lost"] >= ra["failures"]
    assert ra["failures"] + ra["connected"] == ra["accesses"]
    assert max(s["random_access"]["preambles"] for s in r["sensors"]) <= 3 * 2  # two wake-ups at most
    tx, rx = r["totals"]["tx_packets"], r["totals"]["rx_packets"]
    assert r["kpis"]["delivery_ratio"] == pytest.approx(rx / (tx + ra["reports_lost"]))


@pytest.mark.ns3
def test_same_seed_same_contention(tmp_path):
    cfg = _psm_cell(40, **{"traffic.access_spread_s": 0.001})
    a = _run(cfg, tmp_path / "a")
    b = _run(cfg, tmp_path / "b")
    assert a["random_access"] == b["random_access"]
    assert [s["random_access"] for s in a["sensors"]] == [s["random_access"] for s in b["sensors"]]
    assert a["kpis"] == b["kpis"]
    assert a["totals"] == b["totals"]
