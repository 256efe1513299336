"""Twin Service Layer (services/): logic on small data with known answers, and every service
on real ns-3 runs where it reads the twin or acts through the bridge."""
from __future__ import annotations

import math
import subprocess
import sys

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from gaidt import config as configmod
from gaidt import ns3_runner
from services import mmtc, ptr, routing, sync, tic
from services.twin_data import TwinDataError, history_table
from tests.helpers import REPO, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


# ---------------------------------------------------------------- routing: known answers

def _circle(n, radius=100.0, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # input order shuffled: the heuristic must find the circle order
    ang = 2 * np.pi * order / n
    pts = np.column_stack([radius * np.cos(ang), radius * np.sin(ang)])
    return pts, order


@pytest.mark.unit
def test_nearest_neighbour_2opt_finds_the_optimal_tour_of_points_on_a_circle():
    n, radius = 12, 100.0
    pts, order = _circle(n, radius, seed=3)
    dist = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    routes = routing.solve_cvrp(dist, np.r_[0.0, np.ones(n - 1)], capacity=100, depot=0)
    assert len(routes) == 1
    optimal = n * 2 * radius * math.sin(math.pi / n)  # the inscribed polygon's perimeter
    assert routing.route_length(dist, routes[0], 0) == pytest.approx(optimal, rel=1e-9)
    tour = [order[0]] + [order[i] for i in routes[0]]  # positions on the circle, in visiting order
    steps = {(b - a) % n for a, b in zip(tour, tour[1:] + tour[:1])}
    assert steps in ({1}, {n - 1})  # neighbours on the circle, one direction


@pytest.mark.unit
def test_two_opt_removes_a_crossing():
    pts = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)  # square, depot 0
    dist = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    crossed = [2, 1, 3]  # 0-2-1-3-0 crosses itself
    assert routing.route_length(dist, crossed) > 4
    assert routing.route_length(dist, routing.two_opt(dist, crossed)) == pytest.approx(4.0)


@pytest.mark.unit
def test_cvrp_respects_capacity_and_serves_every_stop_once():
    g = routing.street_grid(600, 100)
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 600, (30, 2))
    stops = [routing.nearest_nodes(g, np.array([[0.0, 0.0]]))[0], *routing.nearest_nodes(g, xy)]
    dist = routing.distance_matrix(g, stops)
    demands = np.r_[0.0, rng.uniform(0.2, 1.0, 30)]
    routes = routing.solve_cvrp(dist, demands, capacity=4.0)
    served = sorted(i for r in routes for i in r)
    assert served == list(range(1, 31))
    assert all(demands[r].sum() <= 4.0 + 1e-9 for r in routes)
    assert len(routes) >= math.ceil(demands.sum() / 4.0)
    with pytest.raises(ValueError, match="capacity"):
        routing.solve_cvrp(dist, np.r_[0.0, 5.0], capacity=4.0)


@pytest.mark.unit
def test_street_grid_distances_are_manhattan():
    g = routing.street_grid(600, 100)
    a, b = routing.nearest_nodes(g, np.array([[0.0, 0.0], [600.0, 300.0]]))
    assert routing.distance_matrix(g, [a, b])[0, 1] == pytest.approx(900.0)


# ---------------------------------------------------------------- road graph files: bad input

def _write_graphml(path, g):
    nx.write_graphml(g, path)
    return path


@pytest.mark.unit
def test_road_graph_file_loads_lengths(tmp_path):
    g = nx.Graph()
    g.add_node("a", x=0.0, y=0.0)
    g.add_node("b", x=30.0, y=40.0)
    g.add_node("c", x=30.0, y=0.0)
    g.add_edge("a", "b", length=70.0)  # a street longer than the straight line
    g.add_edge("b", "c")  # no length: the straight line, 40 m
    loaded = routing.load_road_graph(_write_graphml(tmp_path / "roads.graphml", g))
    assert loaded.edges["a", "b"]["length_m"] == 70.0
    assert loaded.edges["b", "c"]["length_m"] == pytest.approx(40.0)


@pytest.mark.unit
def test_road_graph_not_connected_is_rejected_with_the_reason(tmp_path):
    g = routing.street_grid(300, 100)
    g.add_node(999, x=5000.0, y=5000.0)  # an island
    with pytest.raises(routing.RoadGraphError,
                       match=r"not connected: 2 connected components; the largest has 16 of 17"):
        routing.load_road_graph(_write_graphml(tmp_path / "islands.graphml", g))


@pytest.mark.unit
def test_one_way_trap_is_rejected(tmp_path):
    g = nx.DiGraph()
    for n, x in (("a", 0.0), ("b", 100.0), ("c", 200.0)):
        g.add_node(n, x=x, y=0.0)
    g.add_edge("a", "b", length_m=100.0)
    g.add_edge("b", "a", length_m=100.0)
    g.add_edge("b", "c", length_m=100.0)  # c has no way out
    with pytest.raises(routing.RoadGraphError, match="strongly connected"):
        routing.load_road_graph(_write_graphml(tmp_path / "oneway.graphml", g))


@pytest.mark.unit
def test_road_graph_without_positions_is_rejected(tmp_path):
    g = nx.Graph()
    g.add_edge("a", "b", length_m=10.0)
    with pytest.raises(routing.RoadGraphError, match="node 'a' has no 'x'/'y'"):
        routing.load_road_graph(_write_graphml(tmp_path / "nopos.graphml", g))


# ---------------------------------------------------------------- TIC learner: known answers

@pytest.mark.unit
def test_bandit_finds_the_better_of_two_actions():
    rng = np.random.default_rng(11)
    b = tic.ContextualBandit(["a", "b"], epsilon=0.2, seed=1)
    p = {"a": 0.3, "b": 0.7}
    for _ in range(300):
        act = b.select(0)
        b.update(0, act, float(rng.random() < p[act]))
    assert b.greedy(0) == "b"
    assert b.n[0][1] > b.n[0][0]  # it mostly played the better arm


@pytest.mark.unit
def test_bandit_learns_per_context_and_borrows_the_nearest_context():
    rng = np.random.default_rng(2)
    b = tic.ContextualBandit([1, 2], epsilon=0.3, seed=4)
    best = {0: 1, 3: 2}
    for _ in range(400):
        ctx = int(rng.choice([0, 3]))
        act = b.select(ctx)
        b.update(ctx, act, (1.0 if act == best[ctx] else 0.0) + rng.normal(0, 0.3))
    assert b.greedy(0) == 1 and b.greedy(3) == 2
    assert b.greedy(4) == 2 and b.greedy(1) == 1  # unseen: the nearest seen context
    assert tic.ContextualBandit([1, 2]).greedy(0) == 1  # nothing learned: the default (no pacing)


@pytest.mark.unit
def test_interval_reward_counts_on_time_minus_lost_per_sensor_second():
    prev = {"sensors": ["s"] * 2, "tx": 10, "tx_bytes": 1000, "rx": 8, "late": 1, "in_flight": 1}
    now = {"sensors": ["s"] * 2, "tx": 30, "tx_bytes": 3000, "rx": 24, "late": 3, "in_flight": 2}
    r, kbps = tic.interval_reward(prev, now, 0.5)
    # on time +14 (16 delivered - 2 late), lost +3 (20 sent - 16 delivered - 1 more in flight)
    assert r == pytest.approx((14 - 3) / (2 * 0.5))
    assert kbps == pytest.approx(8 * 2000 / 0.5 / 1e3)


# ---------------------------------------------------------------- PTR: SVM and fill knowledge

@pytest.mark.unit
def test_svm_learns_a_known_rule_and_refuses_single_class_history():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0, 2, 600), rng.uniform(0, 1, 600), rng.integers(0, 5, 600),
                         rng.uniform(0, 0.5, 600)])
    y = X[:, 0] >= 1.0  # needs collection iff the projected level reaches capacity
    model = ptr.train_svm([(X[:400], y[:400])])
    assert (model.predict(X[400:]) == y[400:]).mean() > 0.95
    with pytest.raises(TwinDataError, match="needs both classes"):
        ptr.train_svm([(X[:50], np.zeros(50, bool))])


@pytest.mark.unit
def test_rule_with_full_information_prevents_every_overflow_and_a_sparse_schedule_does_not():
    n, rounds = 6, 30
    rates = np.array([0.11, 0.23, 0.31, 0.17, 0.27, 0.41])  # no multiple lands on exactly 1
    inc = np.tile(rates, (rounds, 1))  # deterministic, < 1 per round
    initial = np.zeros(n)
    delivered = np.ones((rounds, n), bool)  # every bin reports every round
    bins = pd.DataFrame({"x_m": np.linspace(0, 500, n), "y_m": np.linspace(500, 0, n)})
    plan = ptr.Plan.build(bins, area_m=500, capacity_bins=3)
    rule, _, _ = ptr.simulate(ptr.rule_policy, plan, delivered, initial, inc, 0, rounds)
    sparse, _, _ = ptr.simulate(ptr.fixed_schedule(6), plan, delivered, initial, inc, 0, rounds)
    assert rule.overflow_events == 0 and rule.collections > 0 and rule.distance_m > 0
    assert sparse.overflow_events > 0
    assert rule.metrics()["precision"] == 1.0 and rule.metrics()["recall"] == 1.0


# ---------------------------------------------------------------- sync: known answers on synthetic truth

def _synthetic_truth(rounds=12):
    truths = {}
    for k in range(1, rounds + 1):
        base = {"active": 1.0, "attached_gateway": 0.0, "report_period_s": 1.0, "latency_mean_ms": 10.0}
        truths[k] = {"sensor-0": base | {"tx_packets": 100.0, "rx_packets": 100.0},  # idle
                     "sensor-1": base | {"tx_packets": 100.0 + 10 * k, "rx_packets": 100.0 + 10 * k},  # busy
                     "sensor-2": base | {"tx_packets": 50.0, "rx_packets": 50.0}}  # idle
    return truths


@pytest.mark.unit
def test_right_time_spends_its_budget_on_the_sensor_that_changes():
    truths = _synthetic_truth()
    per_round = sync.replay(truths, sync.RightTime(budget=1 / 3, threshold=1.0))  # one sync per round
    assert (per_round["messages"] <= 1).all()
    assert per_round["accuracy"].iloc[-1] == 1.0  # idle sensors synced once stay right; the busy one is synced
    fixed = sync.replay(truths, sync.FixedRate(1 / 3, seed=0))
    assert per_round["accuracy"].iloc[3:].mean() > fixed["accuracy"].iloc[3:].mean()
    full = sync.replay(truths, sync.FixedRate(1.0))
    assert (full["accuracy"] == 1.0).all() and (full["messages"] == 3).all()


@pytest.mark.unit
def test_sync_without_truth_says_how_to_get_it():
    with pytest.raises(TwinDataError, match=r"truth=True"):
        sync.truth_tables({})


# ---------------------------------------------------------------- bad twins

@pytest.mark.unit
def test_services_name_what_an_empty_twin_lacks():
    from gaidt_bridge.twin_graph import TwinGraph

    with pytest.raises(TwinDataError, match="mmtc: the real-time twin has no sensor nodes"):
        mmtc.gateway_metrics(TwinGraph(), 5.0)
    g = TwinGraph()
    g.add_node("sensor-0", kind="sensor", properties={"attached_gateway": 0.0}, telemetry={})
    with pytest.raises(TwinDataError, match="tic: 1 of 1 sensor twins lack 'tx_packets'"):
        tic.gateway_counters(g)
    with pytest.raises(TwinDataError, match=r"ptr: the historical twin has no column\(s\) x_m, y_m"):
        ptr.bins_from_history(pd.DataFrame({"round": [1], "node": ["sensor-0"], "kind": ["sensor"],
                                            "rx_packets": [1.0]}))


# ---------------------------------------------------------------- real ns-3: mMTC

@pytest.fixture(scope="module")
def mmtc_stressed(tmp_path_factory):
    out = tmp_path_factory.mktemp("mmtc")
    return mmtc.run_level("small", 1, 0.7, out, duration_s=3.0, stressed=True)


@pytest.mark.ns3
def test_mmtc_twin_metrics_per_gateway_match_ns3(mmtc_stressed):
    base = mmtc_stressed["variants"]["base"]
    truth = {g["id"]: g for g in base["result_gateways"]}
    assert len(base["gateways"]) == 2
    for g in base["gateways"]:
        t = truth[g["gateway"]]
        assert g["throughput_bps"] == pytest.approx(t["goodput_bps"])  # gateway twins are synced every round
        assert g["attached_sensors"] == t["attached_sensors"]
        assert abs(g["served_ratio"] - t["served_ratio"]) <= 0.05  # sensor twins may be a round stale
        assert abs(g["delivery_ratio"] - t["delivery_ratio"]) <= 0.05
    assert max(g["late_ratio"] for g in base["gateways"]) > 0.05  # the stress shows


@pytest.mark.ns3
def test_mmtc_settings_from_the_twin_use_the_generator_vocabulary_and_never_add_lateness(mmtc_stressed):
    """The stressed city is late but drops nothing (after the starvation fixes). Spreading access would
    defer reports past their deadline (latency counts from the due time: measured 0.47 -> 0.66 late),
    so the service keeps the spread; what it changes must not make lateness worse."""
    from generators.generation_schema import FIELDS

    cand = mmtc_stressed["candidate"]
    assert set(cand) <= set(FIELDS) and set(cand) == set(mmtc.FIELDS)
    rows = {v: mmtc.summary_row(d["gateways"]) for v, d in mmtc_stressed["variants"].items()}
    assert rows["base"]["late_ratio"] > 0.05  # the stress shows as lateness
    if rows["base"]["drop_ratio"] <= 0.01:
        assert cand["access_spread_s"] == mmtc.STRESS["access_spread_s"]
    else:
        assert cand["access_spread_s"] > mmtc.STRESS["access_spread_s"]
    tuned = rows.get("tuned", rows["base"])
    assert tuned["late_ratio"] <= rows["base"]["late_ratio"] + 1e-9


# ---------------------------------------------------------------- real ns-3: mMTC energy vs latency

POWER_TEST_OPTIONS = (
    {"power_mode": "always_on"},
    {"power_mode": "drx", "drx_cycle_ms": 1280},
    {"power_mode": "psm", "rrc_release_s": 1.0, "t3324_s": 0.0},
)


def _power_trade(out, deadline_ms):
    """10 sensors / 1 gateway, every sensor reports every 4 s for 12 s: between reports a psm sensor
    is released (1 s) and sleeps; waking costs power.connection_setup_ms (100 ms) of latency."""
    cfg = mmtc.power_config("small", 1, activity=1.0, duration_s=12.0, report_period_s=4.0,
                            deadline_ms=deadline_ms, sensors=10, gateways=1)
    assert cfg["power"]["mode"] == "always_on"  # the base: the example's pinned mode
    return mmtc.run_power(cfg, out, options=POWER_TEST_OPTIONS)


@pytest.mark.unit
def test_power_keys_are_offered_only_when_named():
    """Figs. 2 and 3 and the closed loop name no fields: their vocabulary stays the five network keys."""
    from generators.generation_schema import DEFAULT_FIELDS, POWER_FIELDS, generation_schema

    base = small_config()
    assert set(generation_schema(base)["properties"]) == set(DEFAULT_FIELDS)
    assert set(generation_schema(base, fields=POWER_FIELDS)["properties"]) == set(POWER_FIELDS)
    cands = mmtc.power_candidates(base, POWER_TEST_OPTIONS)
    assert cands[0]["drx_cycle_ms"] == base["power"]["drx_cycle_ms"]  # unnamed keys keep the base's
    with pytest.raises(ValueError, match="unknown"):
        mmtc.power_candidates(base, [{"power_mode": "psm", "scheduler": "rr"}])


@pytest.mark.ns3
def test_mmtc_power_with_a_loose_deadline_picks_the_deepest_sleep(tmp_path):
    res = _power_trade(tmp_path, deadline_ms=1000)
    rows = {r["settings"]["power_mode"]: r for r in res["rows"]}
    assert set(rows) == {"always_on", "drx", "psm"}
    assert all(r["meets_deadline"] for r in res["rows"])
    assert rows["psm"]["energy_mean_j"] < rows["drx"]["energy_mean_j"] < rows["always_on"]["energy_mean_j"]
    assert res["candidate"]["power_mode"] == "psm" and rows["psm"]["chosen"]
    assert rows["psm"]["latency_mean_ms"] > rows["always_on"]["latency_mean_ms"] + 50  # the trade: the wake-up
    for r in res["rows"]:  # the twin's figures are ns-3's (the twin's last round is 0.1 s before the end)
        assert r["battery_life_years"] == pytest.approx(r["result_battery_life_years"], rel=0.03)
        assert r["latency_mean_ms"] == pytest.approx(r["result_l_ms"], abs=2.0)


@pytest.mark.ns3
def test_mmtc_power_with_a_tight_deadline_keeps_a_mode_that_meets_it(tmp_path):
    res = _power_trade(tmp_path, deadline_ms=100)
    rows = {r["settings"]["power_mode"]: r for r in res["rows"]}
    base = res["rows"][0]
    assert base["on_time_ratio"] == 1.0
    assert not rows["psm"]["meets_deadline"] and rows["psm"]["on_time_ratio"] < 0.5  # woken reports are late
    assert rows["psm"]["energy_mean_j"] < rows["drx"]["energy_mean_j"]  # so the deadline, not energy, rules it out
    assert res["candidate"]["power_mode"] == "drx"
    assert rows["drx"]["on_time_ratio"] >= base["on_time_ratio"] - mmtc.ON_TIME_SLACK
    assert rows["drx"]["energy_mean_j"] < 0.5 * base["energy_mean_j"]


# ---------------------------------------------------------------- real ns-3: TIC through bridge commands

@pytest.mark.ns3
def test_tic_pacing_is_applied_through_set_commands(tmp_path):
    cfg = tic.base_config("small", 1, duration_s=3.0)
    bandit = tic.ContextualBandit(tic.PACING)
    for ctx in range(len(tic.LOAD_EDGES_KBPS) + 1):
        bandit.update(ctx, 4, 1.0)  # a table that always paces x4
    driver = tic.PacingDriver(bandit, cfg["traffic"]["report_period_s"], cfg["sim"]["warmup_s"], mode="apply")
    outcome = tic.run_with_driver(cfg, tmp_path / "apply", driver)
    assert driver.commands == 50  # every attached sensor of both gateways, once
    periods = [outcome.graph.value(n, "report_period_s") for n in outcome.graph.sensors()]
    assert periods == pytest.approx([4 * cfg["traffic"]["report_period_s"]] * 50)
    assert {r["pacing"] for r in driver.log} >= {4}


@pytest.mark.ns3
def test_tic_trains_in_generated_twins(tmp_path):
    base = tic.base_config("small", 1, duration_s=3.0)
    training = tic.train(base, tmp_path, n_twins=1, payload_scales=(1.0,), workers=1)
    (run,) = training.runs
    assert "failed" not in run and run["intervals"] >= 2
    from generators.generation_schema import current_values

    assert run["values"] != current_values(base)  # a generated variant, not the base
    assert sum(int(n.sum()) for n in training.bandit.n.values()) == run["intervals"]


# ---------------------------------------------------------------- real ns-3: sync on a truth-enabled run

@pytest.fixture(scope="module")
def truth_run(tmp_path_factory):
    return sync.truth_run("small", 1, 6, 0.5, tmp_path_factory.mktemp("sync"))


@pytest.mark.ns3
def test_sync_replay_on_ns3_truth(truth_run):
    cfg, outcome = truth_run
    truths = sync.truth_tables(outcome.truth)
    assert len(truths) >= 6 and all(len(t) == 50 for t in truths.values())
    full = sync.replay(truths, sync.FixedRate(1.0))
    assert (full["accuracy"] == 1.0).all()
    hist = history_table(outcome.out_dir / "history.sqlite", "sync")
    as_run = sync.replay(truths, sync.as_run_policy(hist, 0.8))
    assert (as_run["messages"] == 40).all()  # the bridge's own round(0.8 x 50) sample
    right = sync.replay(truths, sync.RightTime(0.4, 0.5))
    assert (right["messages"] <= 20).all()
    assert 0 < sync.summarize(right)["accuracy_mean"] < 1


# ---------------------------------------------------------------- real ns-3: PTR reads fill levels off the twin

@pytest.fixture(scope="module")
def ptr_history(tmp_path_factory):
    out = tmp_path_factory.mktemp("ptr")
    outcome = ns3_runner.run_scenario(small_config(duration_s=8.0), out, bridge=True)
    return outcome, history_table(out / "history.sqlite", "ptr")


@pytest.mark.ns3
def test_ptr_readings_ride_on_delivered_packets(ptr_history):
    outcome, hist = ptr_history
    seen = ptr.deliveries(hist, 50, rounds_per_plan=10).any(axis=0)
    for s in outcome.result["sensors"]:
        assert seen[s["id"]] == (s["rx_packets"] > 0), s["id"]


@pytest.mark.ns3
def test_ptr_evaluates_every_policy_on_the_twin(ptr_history):
    _, hist = ptr_history
    res = ptr.evaluate(hist, ptr.FillModel(50, seed=1), rounds_per_plan=2, area_m=600)
    assert set(res) == {"svm", "rule", "fixed-2", "fixed-3", "oracle"}
    assert res["fixed-2"]["collections"] == 50 * (res["fixed-2"]["rounds"] // 2)
    for m in res.values():
        assert (m["distance_km"] > 0) == (m["collections"] > 0)
    assert 0 <= res["svm"]["precision"] <= 1 and 0 <= res["svm"]["recall"] <= 1
    with pytest.raises(TwinDataError, match="fill model has 49 bins but the twin has 50"):
        ptr.evaluate(hist, ptr.FillModel(49), rounds_per_plan=2)


@pytest.mark.ns3
def test_ptr_refuses_the_physical_twins_own_fill_level(ptr_history):
    _, hist = ptr_history
    with pytest.raises(TwinDataError, match="fill_level is 0 for every sensor"):
        ptr.check_twin_fill_telemetry(hist)


# ---------------------------------------------------------------- run.py services

@pytest.mark.ns3
def test_run_py_services_writes_csv_and_plot(tmp_path):
    p = subprocess.run(RUN + ["services", "--out", str(tmp_path), "--only", "sync", "--seeds", "1", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(tmp_path / "services.csv")
    assert list(df.columns[:5]) == ["service", "topology", "scenario", "variant", "seed"]
    assert set(df.service) == {"sync"} and df.groupby(["variant", "seed"]).size().max() == 1
    assert (tmp_path / "sync.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.unit
@pytest.mark.parametrize("argv, message", [
    (["--topologies", "tiny"], "no such example; allowed: city, large, medium, small"),
    (["--seeds", "0"], "need one or more integers >= 1"),
    (["--workers", "0"], "must be >= 1"),
    (["--only", "fly"], "invalid choice"),
])
def test_run_py_services_usage_errors_exit_2(tmp_path, argv, message):
    p = subprocess.run(RUN + ["services", "--out", str(tmp_path)] + argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and message in p.stderr
    assert not (tmp_path / "services.csv").exists()


@pytest.mark.slow
@pytest.mark.unit
def test_run_py_services_rejects_a_disconnected_road_graph(tmp_path):
    g = routing.street_grid(300, 100)
    g.add_node(999, x=5000.0, y=5000.0)
    path = _write_graphml(tmp_path / "islands.graphml", g)
    p = subprocess.run(RUN + ["services", "--out", str(tmp_path / "o"), "--only", "ptr", "--road-graph", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "is not connected" in p.stderr


@pytest.mark.llm
def test_tic_twins_generated_by_the_real_model(vllm_client):
    base = tic.base_config("small", 1, duration_s=3.0)
    twins = tic.scenario_variants(base, 2, seed=3, client=vllm_client)
    assert len(twins) == 2
    assert any(t["name"].endswith(("llm0", "llm1")) for t in twins)  # at least one candidate came from the model
    for t in twins:
        assert configmod.validate(t) == t and t["seed"] == base["seed"]
    audit = [line for line in (vllm_client.audit_path.read_text().splitlines()) if '"tic-training"' in line]
    assert audit
