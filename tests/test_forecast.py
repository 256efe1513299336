"""Forecasting the twin's dynamic state (generators.forecast, generators.llm_forecast), forecast-guided
sync (services.sync), and Fig. 3 as a forecast end to end (real ns-3; the real model where marked)."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from generators import forecast as fc
from generators import llm_forecast
from generators.llm_client import LLMClient
from services import sync
from tests.helpers import REPO, chat_choice, chat_reply

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


def _state(tx, rx=None, active=1.0, period=0.5, q=0.0, lat=10.0, drops=0.0):
    return {"tx_packets": float(tx), "rx_packets": float(tx if rx is None else rx), "buffer_drops": drops,
            "in_flight_packets": q, "latency_mean_ms": lat, "active": active, "report_period_s": period}


# ---------------------------------------------------------------- scoring: tolerances and what is scored

@pytest.mark.unit
def test_tolerances_and_static_attributes_are_not_scored():
    assert fc.within_tolerance("tx_packets", 104, 100) and not fc.within_tolerance("tx_packets", 106, 100)
    assert fc.within_tolerance("tx_packets", 3, 3) and not fc.within_tolerance("tx_packets", 4, 3)
    assert fc.within_tolerance("latency_mean_ms", 10.9, 10) and not fc.within_tolerance("latency_mean_ms", 11.2, 10)
    assert not fc.within_tolerance("active", 0, 1) and fc.within_tolerance("report_period_s", 0.5, 0.5)
    truth = {"sensor-0": _state(10) | {"attached_gateway": 1.0, "x_m": 5.0}}
    pred = {"sensor-0": _state(10) | {"attached_gateway": 0.0, "x_m": 99.0}}  # static attributes all wrong
    per = fc.score(pred, truth)
    assert "attached_gateway" not in per and "x_m" not in per and fc.overall(per) == 1.0
    # rates: (counter at t) - (counter at t-1), scored only with both rounds
    per = fc.score({"sensor-0": _state(12)}, {"sensor-0": _state(13)}, {"sensor-0": _state(10)},
                   {"sensor-0": _state(10)})
    assert per["tx_rate"] == (1, 1) and per["tx_packets"] == (0, 1)  # 2 vs 3 per round; 12 vs 13 cumulative
    assert fc.score({}, truth)["active"] == (0, 1)  # a sensor the forecast lacks counts as wrong


@pytest.mark.unit
def test_observations_read_transferred_rows_only():
    table = pd.DataFrame([
        {"round": 1, "node": "sensor-0", "kind": "sensor", **_state(1)},
        {"round": 3, "node": "sensor-0", "kind": "sensor", **_state(4, active=0.0)},
        {"round": 3, "node": "gateway-0", "kind": "gateway", "tx_packets": 9.0},
    ])
    obs = fc.observations(table, upto_round=2)
    assert list(obs) == ["sensor-0"] and [r for r, _ in obs["sensor-0"]] == [1]
    obs = fc.observations(table, upto_round=3)
    assert obs["sensor-0"][-1] == (3, _state(4, active=0.0))  # the leave event rides on the sampled row


# ---------------------------------------------------------------- predictors on known series

def _steady_obs(rounds=8, n=6):
    # sensor i sends (i % 3) + 1 packets per round, observed every round
    return {f"sensor-{i}": [(k, _state(((i % 3) + 1) * k)) for k in range(1, rounds + 1)] for i in range(n)}


@pytest.mark.unit
def test_last_linear_and_ridge_on_steady_sensors():
    obs = _steady_obs()
    last = fc.predict_last(obs, [9, 11])
    lin = fc.predict_linear(obs, [9, 11])
    ridge = fc.RidgeForecaster(round_s=1.0).fit(obs)
    rp = ridge.predict(obs, [9, 11])
    for i in range(6):
        rate = (i % 3) + 1
        n = f"sensor-{i}"
        assert last[n][11]["tx_packets"] == 8 * rate
        assert lin[n][9]["tx_packets"] == 9 * rate and lin[n][11]["tx_packets"] == 11 * rate
        assert abs(rp[n][11]["tx_packets"] - 11 * rate) <= 1  # learned from the run's own rows
        assert rp[n][11]["active"] == 1.0 and rp[n][11]["report_period_s"] == 0.5


@pytest.mark.unit
def test_the_stack_learns_to_trust_a_right_model_and_to_ignore_a_wrong_one():
    rng = np.random.default_rng(5)
    obs, future = {}, {}
    for i in range(12):  # bursty sensors: the history does not predict the next increment
        c = np.cumsum(rng.integers(0, 6, size=10)).astype(float)
        obs[f"sensor-{i}"] = [(k, _state(c[k - 1])) for k in range(1, 10)]
        future[f"sensor-{i}"] = c[9]
    right = {(n, h[i][0], h[i + 1][0]): h[i + 1][1] for n, h in obs.items() for i in range(len(h) - 1)}
    noise = np.random.default_rng(6)  # a model whose answers are unrelated to what happens
    wrong = {(n, h[i][0], h[i + 1][0]): _state(h[i][1]["tx_packets"] + noise.integers(0, 6))
             for n, h in obs.items() for i in range(len(h) - 1)}
    stack_right = fc.RidgeForecaster(1.0, max_gap=1, llm=right).fit(obs)
    stack_wrong = fc.RidgeForecaster(1.0, max_gap=1, llm=wrong).fit(obs)
    assert stack_right.coefficient("tx_packets") > 1.0  # (scaled) weight on the model's input
    assert abs(stack_wrong.coefficient("tx_packets")) < 0.3 * stack_right.coefficient("tx_packets")
    plain = fc.RidgeForecaster(1.0, max_gap=1).fit(obs)
    llm_now = {(n, 9, 10): _state(future[n]) for n in obs}
    stack_right.llm.update(llm_now)
    err = {name: np.mean([abs(m.predict(obs, [10])[n][10]["tx_packets"] - future[n]) for n in obs])
           for name, m in (("stack", stack_right), ("plain", plain))}
    assert err["stack"] < err["plain"]


@pytest.mark.unit
def test_uncertainty_ranks_unseen_and_wrong_sensors_first():
    obs = _steady_obs(rounds=6, n=4)
    model = fc.RidgeForecaster(1.0).fit(obs)
    pred = model.predict(obs, [7], list(obs))
    nodes = [f"sensor-{i}" for i in range(5)]  # sensor-4 never observed
    unc = fc.uncertainty(obs, model, pred, 7, nodes, last_error={"sensor-2": {"tx_packets": 5.0},
                                                                 "sensor-1": {"tx_packets": 1.0}})
    assert math.isinf(unc["sensor-4"])
    assert unc["sensor-2"] > unc["sensor-0"] and unc["sensor-1"] > unc["sensor-0"]
    assert llm_forecast.choose(unc, 1) == ["sensor-4"] and "sensor-0" not in llm_forecast.choose(unc, 3)


@pytest.mark.unit
def test_eq1_accuracy_case_steers_the_generator_to_served_and_buffer_attributes():
    from experiments import fig3
    from generators import prioritization as pz

    prio, aw = fig3.eq1_scenario3(fig3.scenario3_config("medium", 1, 12, 1.0))
    assert prio.case == "accuracy" and set(prio.holding) == {"accuracy", "density"}
    assert prio.prioritized == ("rho", "alpha")
    pz.check_constraints(prio.weights, prio.prioritized)
    assert aw["active"] > aw["latency_mean_ms"] and aw["buffer_drops"] > aw["tx_packets"]


# ---------------------------------------------------------------- the model's forecast (scripted endpoint)

@pytest.mark.slow
@pytest.mark.unit
def test_llm_forecast_follows_a_schema_valid_answer_and_drops_an_invalid_one(fake):
    obs = _steady_obs(rounds=4, n=3)

    def answer(body):
        schema = body["response_format"]["json_schema"]["schema"]
        obj = {n: {"tx": 2, "rx": 1.5, "drop": 0, "q": 1, "lat": 12.5, "act": 1,
                   "per": s["properties"]["per"]["enum"][0]} for n, s in schema["properties"].items()}
        return chat_reply(chat_choice(json.dumps(obj)))

    url, script = fake([answer])
    pred, audit = llm_forecast.llm_forecast(LLMClient(url, "m", seed=3), obs, ["sensor-0", "sensor-2"], 4, [5, 7],
                                            1.0, case="accuracy", prioritized=("rho", "alpha"), sensors_per_call=1)
    assert len(audit) == 2 and all(a["valid"] for a in audit)
    assert script.requests[0]["seed"] != script.requests[1]["seed"]  # per-request seeds
    assert "prioritized KPIs: rho, alpha" in script.requests[0]["messages"][1]["content"]
    s0 = obs["sensor-0"][-1][1]
    assert pred["sensor-0"][7]["tx_packets"] == s0["tx_packets"] + 2 * 3  # rate x rounds since last row
    assert pred["sensor-0"][5]["latency_mean_ms"] == 12.5 and pred["sensor-0"][5]["report_period_s"] == 0.25

    url, _ = fake([chat_reply(chat_choice('{"sensor-0": {"tx": "many"}}'))])
    pred, audit = llm_forecast.llm_forecast(LLMClient(url, "m", max_attempts=1), obs, ["sensor-0"], 4, [5], 1.0)
    assert pred == {} and not audit[0]["valid"]


@pytest.mark.llm
def test_llm_forecast_with_the_real_model(vllm_client):
    obs = _steady_obs(rounds=5, n=4)
    pred, audit = llm_forecast.llm_forecast(vllm_client, obs, ["sensor-1", "sensor-3"], 5, [6, 8], 1.0,
                                            case="accuracy", prioritized=("rho", "alpha"), sensors_per_call=2)
    assert audit and all(a["valid"] for a in audit), audit
    for n in ("sensor-1", "sensor-3"):
        for t in (6, 8):
            s = pred[n][t]
            assert s["tx_packets"] >= obs[n][-1][1]["tx_packets"] and s["active"] in (0.0, 1.0)


# ---------------------------------------------------------------- forecast-guided right-time sync

def _churning_truth(rounds=12, n=9):
    truths, tx = {}, np.zeros(n)
    for k in range(1, rounds + 1):
        # sensor i sends 1 + i % 3 packets per round; from round 3 + i on, sensor i (i < 6) sends 4 more
        tx += 1 + np.arange(n) % 3 + np.where((np.arange(n) < 6) & (k >= 3 + np.arange(n)), 4, 0)
        truths[k] = {f"sensor-{i}": _state(tx[i]) | {"attached_gateway": 0.0} for i in range(n)}
    return truths


@pytest.mark.unit
def test_forecast_guided_sync_beats_random_at_equal_messages():
    truths = _churning_truth()
    guided = sync.replay(truths, sync.ForecastSync(1 / 3))
    fixed = sync.replay(truths, sync.FixedRate(1 / 3, seed=0, estimator="forecast"))
    assert (guided["messages"] == fixed["messages"]).all() and (guided["messages"] == 3).all()
    # sensors forecast right are left alone, so the budget goes to the ones whose rate just changed
    assert guided["accuracy"].iloc[4:].mean() > fixed["accuracy"].iloc[4:].mean()
    full = sync.replay(truths, sync.FixedRate(1.0, estimator="forecast"))
    assert (full["accuracy"] == 1.0).all()
    with pytest.raises(ValueError, match="estimator"):
        sync.FixedRate(0.8, estimator="oracle")


# ---------------------------------------------------------------- Fig. 3 end to end: real ns-3, the real model

@pytest.mark.llm
def test_fig3_forecast_csvs_with_the_real_model(vllm_server, tmp_path):
    p = subprocess.run(RUN + ["fig3", "--profile", "tiny", "--out", str(tmp_path), "--quiet", "--workers", "1",
                              "--llm-url", vllm_server.url, "--llm-model", vllm_server.served_name],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr + p.stdout
    df = pd.read_csv(tmp_path / "fig3.csv")
    assert {"method", "round", "seed", "accuracy", "horizon", "predictor"} <= set(df.columns)
    assert set(df.method) == {"H", "H+R", "H+R+GAI"}
    assert set(df.predictor) == {"last", "linear", "ridge", "llm", "generator"}
    assert set(df.horizon) == {1, 3} and df.accuracy.between(0, 1).all()
    assert set(df[df.predictor == "llm"].scope) == {"generated"}
    attrs = pd.read_csv(tmp_path / "fig3_attributes.csv")
    assert list(attrs.columns) == ["method", "predictor", "horizon", "round", "seed", "attribute", "accuracy"]
    assert "attached_gateway" not in set(attrs.attribute) and {"active", "tx_rate"} <= set(attrs.attribute)
    prov = json.loads((tmp_path / "fig3_provenance.json").read_text())
    assert prov["eq1"]["case"] == "accuracy" and prov["llm_calls"] >= 4 and prov["llm_valid"] >= 1
    a = df[df.scope == "all"].groupby(["method", "predictor"]).accuracy.mean()
    assert a[("H+R", "last")] > a[("H", "last")]  # the real-time sample helps
