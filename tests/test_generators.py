"""Scenario generator without the LLM: eq. 1 and constraints (4)-(7), the objective,
the generation schema, compile and the size-bounded prompt."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaidt import config as configmod
from gaidt_bridge.twin_graph import TwinGraph
from generators import objective
from generators import prioritization as pz
from generators.compile import compile_candidate
from generators.generation_schema import current_values, generation_schema
from generators.prompt import build_messages

pytestmark = pytest.mark.unit

D_VALUES = st.floats(min_value=0, max_value=20000, allow_nan=False)
L_VALUES = st.floats(min_value=0.001, max_value=60000, allow_nan=False)
A_VALUES = st.floats(min_value=0, max_value=1, allow_nan=False)
THRESHOLDS = st.builds(pz.Thresholds, st.floats(1, 5000), st.floats(0.01, 500), st.floats(0.01, 0.999))
PRECEDENCE = st.permutations(list(pz.DEFAULT_PRECEDENCE))


# ---- eq. 1 and constraints (4)-(7)
@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(D=D_VALUES, L=L_VALUES, A=A_VALUES, th=THRESHOLDS, prec=PRECEDENCE, seed=st.integers(0, 2**32 - 1),
       share=st.floats(0.5001, 1.0))
def test_constraints_hold_in_every_case(D, L, A, th, prec, seed, share):
    p = pz.prioritize(pz.ScenarioInputs(D, L, A), rng=seed, thresholds=th, share=share, precedence=prec)
    w = p.weights
    assert set(w) == set(pz.KPIS)
    assert math.isclose(sum(w.values()), 1.0, abs_tol=1e-9)  # (4)
    conds = {"density": D > th.d_th, "latency": L < th.l_th_ms, "accuracy": A > th.a_th}
    holding = [c for c in prec if conds[c]]
    if holding:
        assert p.case == holding[0]  # documented precedence
        x, y = pz.PAIRS[p.case]  # (5): p(w_x, w_y)
        assert p.prioritized == (x, y)
        assert w[x] > 0 and w[y] > 0  # (6)
        for z in pz.KPIS:
            if z not in (x, y):
                assert w[x] > w[z] and w[y] > w[z]  # (7)
    else:
        assert p.case == "random" and p.prioritized == ()
        assert all(v > 0 for v in w.values())
        assert w == pz.weights("random", seed)  # seeded: reproducible
    pz.check_constraints(w, p.prioritized)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_case_weights_are_seeded_and_vary(seed):
    a, b = pz.weights("random", seed), pz.weights("random", seed)
    assert a == b
    assert math.isclose(sum(a.values()), 1.0, abs_tol=1e-9)
    assert all(v > 0 for v in a.values())


def test_random_weights_differ_between_seeds():
    draws = {tuple(pz.weights("random", s).values()) for s in range(20)}
    assert len(draws) == 20


@pytest.mark.parametrize("case", ["density", "latency", "accuracy"])
def test_each_case_prioritizes_its_pair(case):
    w = pz.weights(case)
    top2 = sorted(w, key=w.get)[-2:]
    assert set(top2) == set(pz.PAIRS[case])
    pz.check_constraints(w, pz.PAIRS[case])


def test_table_i_defaults_and_example_topologies():
    th = pz.Thresholds()
    assert (th.d_th, th.l_th_ms, th.a_th) == (50, 0.9, 0.97)
    # Table II device densities 50/250/1000 as counts: small is not above D_th, medium and large are.
    for name, case in (("small", "random"), ("medium", "density"), ("large", "density")):
        cfg = configmod.example(name)
        assert pz.prioritize(pz.scenario_inputs(cfg), rng=1).case == case
    small = configmod.example("small")
    assert pz.prioritize(pz.scenario_inputs(small, required_accuracy=0.98)).case == "accuracy"
    tight = configmod.validate(dict(copy.deepcopy(small), network=dict(small["network"], deadline_ms=0.5)))
    assert pz.prioritize(pz.scenario_inputs(tight)).case == "latency"
    # several hold: eq. 1's order decides unless told otherwise
    both = pz.ScenarioInputs(D=250, L_ms=0.5, A=0.99)
    assert pz.prioritize(both).case == "density"
    assert pz.prioritize(both).holding == ("density", "latency", "accuracy")
    assert pz.prioritize(both, precedence=("accuracy", "latency", "density")).case == "accuracy"


def test_bad_prioritization_inputs_are_refused():
    with pytest.raises(ValueError, match="share"):
        pz.weights("density", share=0.5)
    with pytest.raises(ValueError, match="case"):
        pz.weights("sync")
    with pytest.raises(ValueError, match="required accuracy"):
        pz.scenario_inputs(configmod.example("small"), required_accuracy=97)
    with pytest.raises(ValueError, match="precedence"):
        pz.prioritize(pz.ScenarioInputs(1, 1), precedence=("density",))


# ---- objective (eq. 2-3)
KPI_RESULT = st.fixed_dictionaries({
    "rho": st.floats(0, 1), "d": st.floats(0, 1), "alpha": st.floats(0, 1),
    "l": st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False), st.just(float("nan")))})


@settings(max_examples=300, deadline=None)
@given(kpis=KPI_RESULT, deadline=st.floats(0.01, 60000), seed=st.integers(0, 1000))
def test_scores_in_unit_interval_and_objective_is_weighted_sum(kpis, deadline, seed):
    t = objective.kpi_scores({"kpis": kpis}, deadline)
    assert all(0.0 <= v <= 1.0 for v in t.values())
    w = pz.weights("random", seed)
    o = objective.objective(t, w)
    assert 0.0 <= o <= 1.0 + 1e-12
    assert math.isclose(o, sum(w[k] * t[k] for k in pz.KPIS))


@settings(max_examples=200, deadline=None)
@given(a=st.floats(0, 1e4), b=st.floats(0, 1e4), deadline=st.floats(0.1, 1e4))
def test_latency_score_is_monotone(a, b, deadline):
    lo, hi = min(a, b), max(a, b)
    assert objective.latency_score(lo, deadline) >= objective.latency_score(hi, deadline)


def test_scores_of_a_known_result():
    t = objective.kpi_scores({"kpis": {"rho": 0.9, "d": 0.8, "l": 25.0, "alpha": 0.1}}, 100.0)
    assert t == pytest.approx({"rho": 0.9, "d": 0.8, "l": 0.75, "alpha": 0.9})
    assert objective.kpi_scores({"kpis": {"rho": 0, "d": 0, "l": None, "alpha": 0}}, 100.0)["l"] == 0.0
    assert objective.latency_score(150.0, 100.0) == 0.0


# ---- generation schema and compile
def test_generation_schema_is_derived_and_restricted():
    base = configmod.example("small")
    schema = generation_schema(base)
    full = configmod.schema()["properties"]
    assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
    assert schema["properties"]["scheduler"]["enum"] == full["network"]["properties"]["scheduler"]["enum"]
    assert schema["properties"]["access_spread_s"]["maximum"] == base["traffic"]["report_period_s"]
    never = {"sensors", "gateways", "seed", "duration_s", "area_m", "ul_activity", "twinning_rate"}
    assert not never & set(schema["properties"])
    import jsonschema
    jsonschema.Draft202012Validator(schema).validate(current_values(base))
    ss = configmod.validate(dict(copy.deepcopy(base), traffic=dict(base["traffic"], service="self_similar")))
    assert "access_spread_s" not in generation_schema(ss)["properties"]


def test_compile_merges_only_schema_fields():
    base = configmod.example("small")
    cand = dict(current_values(base), scheduler="rr", buffer_bytes=50000, association="load_balanced")
    out = compile_candidate(base, cand)
    assert out.ok, out.reason
    cfg = out.config
    assert (cfg["network"]["scheduler"], cfg["network"]["buffer_bytes"], cfg["network"]["association"]) == \
        ("rr", 50000, "load_balanced")
    rest = lambda c: {k: v for k, v in c.items() if k not in ("network", "traffic", "radio_params")}  # noqa: E731
    assert rest(cfg) == rest(base)
    assert cfg["traffic"]["report_period_s"] == base["traffic"]["report_period_s"]


@pytest.mark.parametrize("change,needle", [
    ({"buffer_bytes": 10}, "buffer_bytes"),
    ({"scheduler": "fastest"}, "scheduler"),
    ({"sensors": 5000}, "'sensors' was unexpected"),
    ({"access_spread_s": 7.5}, "access_spread_s"),
])
def test_compile_rejects_with_a_reason(change, needle):
    base = configmod.example("small")
    out = compile_candidate(base, dict(current_values(base), **change))
    assert not out.ok and needle in out.reason


def test_compile_cross_field_rule():
    base = configmod.example("small")
    big = configmod.validate(dict(copy.deepcopy(base), traffic=dict(base["traffic"], payload_bytes={"min": 24, "max": 4000})))
    out = compile_candidate(big, dict(current_values(big), buffer_bytes=2000))
    assert not out.ok and "payload_bytes.max" in out.reason
    assert compile_candidate(base, ["not", "an", "object"]).reason.startswith("candidate must be a JSON object")


# ---- prompt
def _big_twin(sensors=1000, gateways=20) -> TwinGraph:
    g = TwinGraph()
    for i in range(gateways):
        g.add_node(f"gateway-{i}", kind="gateway", properties={"attached_sensors": sensors // gateways,
                                                              "rx_packets": 100 + i}, telemetry={}, fresh=True)
    for i in range(sensors):
        g.add_node(f"sensor-{i}", kind="sensor", fresh=i % 5 != 0,
                   properties={"attached": 1.0, "tx_packets": 10, "rx_packets": 9, "buffer_drops": 1,
                               "latency_mean_ms": 20.0 + i % 7, "attached_gateway": i % gateways}, telemetry={})
    return g


def test_prompt_is_size_bounded_and_carries_schema_case_and_weights():
    cfg = configmod.example("large")
    prio = pz.prioritize(pz.scenario_inputs(cfg))
    schema = generation_schema(cfg)
    scored = [{"values": dict(current_values(cfg), buffer_bytes=1000 + i), "O": i / 100,
               "T": {k: 0.5 for k in pz.KPIS}} for i in range(60)]
    msgs = build_messages(cfg, current_values(cfg), prio.case, prio.weights, schema, graph=_big_twin(),
                          scored=scored, max_chars=4500)
    user = msgs[1]["content"]
    assert len(user) <= 4500
    assert json.dumps(schema, separators=(",", ":")) in user
    assert "Case: density" in user and f"w_rho={prio.weights['rho']:.2f}" in user
    assert "1000 sensors, 20 gateways" in user
    assert "O=0.5900" in user  # the best scored candidate is kept
    lines = user.splitlines()
    assert lines.index(next(ln for ln in lines if "O=0.5900" in ln)) > lines.index(
        next(ln for ln in lines if "O=0.5800" in ln))  # worst to best
    small = build_messages(cfg, current_values(cfg), prio.case, prio.weights, schema, graph=_big_twin(50, 2))
    assert "0:25s" in small[1]["content"]


def test_weights_reach_numpy_generator():
    rng = np.random.default_rng(7)
    a = pz.weights("random", rng)
    b = pz.weights("random", np.random.default_rng(7))
    assert a == b
