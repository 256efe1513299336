"""The benchmark report's logic (no timing is asserted: speed is measured by `run.py bench`)."""
from __future__ import annotations

import pytest

from experiments import bench, fig2
from gaidt import config as configmod
from gaidt.errors import UsageError
from gaidt.knob_runs import STOCK_SIM


def _sim(topology, stock, fast):
    return {"topology": topology, "stock": {"wall_per_sim_s": stock}, "fast": {"wall_per_sim_s": fast},
            "speedup": round(stock / fast, 2)}


SIM = [_sim("small", 0.8, 0.4), _sim("medium", 13.0, 7.0), _sim("large", 150.0, 30.0)]
BRIDGE = {"topology": "large", "wall_with_s": [62.0, 61.0], "wall_without_s": [60.5, 60.0], "bridge_wall_s": 0.01,
          "overhead_pct_in_process": 0.02, "overhead_pct_two_runs": 1.67,
          "cpu_with_s": {"ns3": [60.0, 59.0], "python": [1.0, 1.2]},
          "cpu_without_s": {"ns3": [58.5, 59.5], "python": [0.1, 0.1]},
          "overhead_pct_cpu_ns3": 0.85, "overhead_pct_cpu_total": 2.56, "subscriber_cpu_s": 0.9}


@pytest.mark.unit
def test_goals_put_the_stock_baseline_and_ratio_beside_each_measure():
    by = {g["goal"]: g for g in bench.goals({"sim": SIM, "bridge": BRIDGE})}
    g = by["large: wall s per simulated s"]
    assert (g["measured"], g["stock"], g["ratio_vs_stock"], g["met"]) == (30.0, 150.0, 0.2, True)
    g = by["large: speed-up over stock"]
    assert (g["measured"], g["met"]) == (5.0, True)
    g = by["bridge: whole run, wall"]
    assert (g["measured"], g["stock"], g["met"]) == (61.0, 60.0, True)
    g = by["bridge: whole run, CPU"]
    assert g["measured"] == pytest.approx(60.2) and g["stock"] == pytest.approx(58.6) and g["met"] is False
    assert by["fig2 default profile: wall"]["measured"] is None and by["fig2 default profile: wall"]["met"] is None
    full = by["fig2 --full: wall"]
    assert full["estimated"] and full["rates"].startswith("bench sim fast")
    rates = bench.sim_rates(SIM)
    est = fig2.estimate_profile_s("full", rates, full["workers"])
    assert full["measured"] == est["wall_s_expected"] and full["worst_case_wall_s"] == est["wall_s"]
    assert full["stock"] > full["measured"] and full["ratio_vs_stock"] < 1


@pytest.mark.unit
def test_without_measurements_the_full_estimate_uses_the_planning_figures():
    by = {g["goal"]: g for g in bench.goals({})}
    full = by["fig2 --full: wall"]
    assert full["estimated"] and full["rates"].startswith("planning figures") and full["stock"] is None
    assert all(by[n]["measured"] is None for n in by if n != "fig2 --full: wall")


@pytest.mark.ns3
def test_campaign_overhead_check_runs_the_same_runs_both_ways():
    r = bench.bench_campaign_overhead(n_runs=2, topology="small", duration_s=0.2, workers=2, repeats=1)
    assert r["failed"] == 0 and len(r["plain_pool_wall_s"]) == len(r["campaign_wall_s"]) == 1
    assert r["ns3_wall_sum_s"]["plain"][0] > 0 and r["ns3_wall_sum_s"]["campaign"][0] > 0


@pytest.mark.unit
def test_goals_from_saved_reports_combine_sim_rates_with_a_timed_full_campaign(tmp_path):
    import json

    fig = {"profile": "full", "workers": 2, "exit_code": 0, "wall_s": 1800.0, "ns3_wall_sum_s": 3000.0,
           "simulated_s": {"small": 100.0, "medium": 100.0, "large": 100.0}}
    (tmp_path / "sim.json").write_text(json.dumps({"machine": {}, "sim": SIM, "goals": []}))
    (tmp_path / "fig.json").write_text(json.dumps({"machine": {}, "fig": fig, "goals": []}))
    report = bench.goals_from([str(tmp_path / "sim.json"), str(tmp_path / "fig.json")])
    full = {g["goal"]: g for g in report["goals"]}["fig2 --full: wall"]
    stock_core = 100 * (0.8 + 13.0 + 150.0)
    assert full["measured"] == 1800.0 and full["estimated"] is False and full["met"] is True
    assert full["stock"] == pytest.approx(1800.0 + (stock_core - 3000.0) / 2, abs=0.1)
    with pytest.raises(ValueError, match="nosuch.json"):
        bench.goals_from([str(tmp_path / "nosuch.json")])


@pytest.mark.ns3
def test_knob_bench_tells_identical_results_from_changed_ones():
    same = bench.bench_knob("small", "sim.dl_ctrl_interference", ["per_cell", "aggregate"], duration_s=0.5)
    assert [r["identical_to_first"] for r in same["values"]] == [True, True]
    changed = bench.bench_knob("small", "traffic.ul_activity", [0.45, 0.9], duration_s=0.5)
    assert [r["identical_to_first"] for r in changed["values"]] == [True, False]


@pytest.mark.unit
def test_phase_rates_split_the_run_into_attach_traffic_and_drain():
    result = {"run": {"phases": [
        {"name": "attach", "start_s": 0.0, "end_s": 0.5, "wall_s": 10.0, "events": 3_000_000},
        {"name": "traffic", "start_s": 0.5, "end_s": 1.0, "wall_s": 4.0, "events": 1_000_000},
        {"name": "drain", "start_s": 1.0, "end_s": 1.5, "wall_s": 1.0, "events": 250_000}]}}
    rates = bench.phase_rates(result)
    assert list(rates) == ["attach", "traffic", "drain"]
    assert rates["attach"]["wall_per_sim_s"] == 20.0 and rates["traffic"]["wall_per_sim_s"] == 8.0
    assert rates["traffic"]["events_per_sim_s"] == 2_000_000
    assert bench.phase_rates({"run": {}}) == {}


@pytest.mark.unit
def test_power_saving_goal_reports_the_whole_run_and_the_traffic_phase_side_by_side():
    def variant(whole, traffic):
        return {"wall_per_sim_s": whole, "power_mode": "psm",
                "phases": {"traffic": {"wall_per_sim_s": traffic, "events_per_sim_s": 1}}}

    large = dict(_sim("large", 150.0, 30.0), fast=variant(30.0, 25.0), power_saving=variant(12.0, 8.0))
    by = {g["goal"]: g for g in bench.goals({"sim": [large]})}
    whole = by["large, power saving: wall s per simulated s"]
    traffic = by["large, power saving, traffic phase: wall s per simulated s"]
    assert (whole["measured"], whole["met"]) == (12.0, False)
    assert (traffic["measured"], traffic["stock"], traffic["met"]) == (8.0, 25.0, True)
    # without phases (an older report) the traffic goal is not measured, the whole-run one still is
    old = dict(_sim("large", 150.0, 30.0), power_saving={"wall_per_sim_s": 12.0})
    by = {g["goal"]: g for g in bench.goals({"sim": [old]})}
    assert by["large, power saving, traffic phase: wall s per simulated s"]["measured"] is None
    assert by["large, power saving: wall s per simulated s"]["measured"] == 12.0


@pytest.mark.unit
def test_bench_sim_compares_power_saving_with_always_on_for_every_example():
    """`fast` is always_on even where the example leaves power to the radio's default (city), so the
    power-saving goal's "stock" is what its row says it is."""
    for topology in ("small", "large", "city"):
        assert bench._cfg(topology, 0.1, False)["power"]["mode"] == "always_on"
        assert bench._cfg(topology, 0.1, False, power_saving=True)["power"]["mode"] == "psm"


@pytest.mark.ns3
def test_bench_sim_repeat_reports_the_median_run_and_every_run():
    """--repeat: each variant's record is its median run, every run's figure is kept, and the runs
    of one variant are deterministic (identical_runs); --variants skips stock."""
    rows = bench.bench_sim(["small"], duration_s=0.1, repeat=3, variants=("fast", "power_saving"))
    row = rows[0]
    assert row["stock"] is None and row["speedup"] is None
    for variant in ("fast", "power_saving"):
        rec = row[variant]
        assert rec["repeats"] == 3 and len(rec["runs_wall_per_sim_s"]) == 3
        assert rec["wall_per_sim_s"] == sorted(rec["runs_wall_per_sim_s"])[1]
        assert rec["identical_runs"] is True
    by = {g["goal"]: g for g in bench.goals({"sim": [dict(row, topology="large")]})}
    assert by["large, power saving: wall s per simulated s"]["runs_wall_per_sim_s"] == \
        row["power_saving"]["runs_wall_per_sim_s"]
    assert by["large: speed-up over stock"]["measured"] is None


@pytest.mark.ns3
@pytest.mark.parametrize("kwargs,match", [({"repeat": 0}, "--repeat 0"),
                                          ({"variants": ("stock",)}, "fast included"),
                                          ({"variants": ("fast", "turbo")}, "choose from")])
def test_bench_sim_rejects_a_bad_repeat_or_variant(kwargs, match):
    with pytest.raises(UsageError, match=match):
        bench.bench_sim(["small"], duration_s=0.1, **kwargs)


# the speed knobs of the schema's `sim` section (ns3-scenarios/README.md, "Speed knobs"): the exact
# accelerations and the approximations
SPEED_KNOBS = ("event_scheduler", "ue_clock_gate", "pf_idle_tti", "spectrum_channel", "dl_ctrl_interference",
               "allocator", "cqi_period_ms", "max_loss_db", "rlf_detection")


@pytest.mark.unit
def test_stock_turns_every_speed_knob_to_ns3s_own_behaviour():
    """Stock is stock: every acceleration and approximation is set, each away from the schema's fast default,
    and a benchmarked stock config carries them all (the UE clock gate included)."""
    defaults = {k: v.get("default") for k, v in configmod.schema()["properties"]["sim"]["properties"].items()}
    assert set(STOCK_SIM) == set(SPEED_KNOBS)
    assert all(STOCK_SIM[k] != defaults[k] for k in SPEED_KNOBS), {k: (STOCK_SIM[k], defaults[k]) for k in SPEED_KNOBS}
    stock = bench._cfg("small", 1.0, True)
    assert {k: stock["sim"][k] for k in SPEED_KNOBS} == STOCK_SIM
    assert bench._cfg("small", 1.0, False)["sim"]["ue_clock_gate"] is True
