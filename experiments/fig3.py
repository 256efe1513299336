"""Fig. 3 as a forecast: the twin predicts the physical twin's next rounds (Scenario-3, r = 0.8).

Scenario-3 (synchronization-oriented): mMTC sensors, twinning rate 0.8, one round per twin.period_s.
The physical twin changes during the run through the bridge's commands (ChurnDriver, seeded): every
round some sensors leave, some absent ones join again, some change their reporting period. The bridge
also publishes every round's full ground truth (gaidt.truth, used for scoring only).

At every origin round k the twin forecasts the state of every sensor at rounds k+1 .. k+h (h = 1 and 3)
for the dynamic attributes of generators.forecast (counters, per-round rates, queue, latency, active,
report period; static attributes are not scored), and each forecast is scored against ns-3's truth at
its target round (`round` in the CSVs is the target round). Tolerances: generators/forecast.py.

Information sets (what the forecaster may read):
  H        the history store before round k's snapshot (transferred rows of rounds <= k-1)
  H+R      plus round k's real-time twin (the r = 0.8 sample transferred at round k)
  H+R+GAI  plus the generator (generators.llm_forecast, steered by eq. 1's weights)
Events (join / leave / period change) go through the twinning rate: a forecaster sees them as the
`active` / `report_period_s` of a sensor's next transferred row (the store's events table, which the
bridge fills for every sensor, is not read).

Predictors in the same run (`predictor` column): last, linear, ridge (online, on the run's own
observations) under H and H+R; llm (the model alone, on the sensors it forecast) under H+R; generator
(ridge stacked with the model's forecast, its weight fitted online) under H+R+GAI. The generator's own
contribution is the ablation generator minus H+R ridge (the same model without the model's input).
Without a model (--no-llm) the generator equals H+R ridge.

Eq. 1 on Scenario-3: required accuracy A = 0.98 > A_th = 0.97, so the accuracy case holds; medium's
D = 250 > D_th also satisfies the density case, and Scenario-3 being the synchronization scenario, its
precedence puts accuracy first (SCENARIO3_PRECEDENCE; every holding case is recorded). The weights
(rho, alpha prioritized) choose which sensors the model forecasts each round (generators.llm_forecast).

`scope` column: "all" scores every sensor of the truth; "generated" only the sensors the model forecast
that round (every H+R / H+R+GAI predictor on the same sensors: the paired comparison for llm).
`sensors`: the sensors scored. fig3_attributes.csv has the per-attribute accuracy of scope "all" (of the
model's sensors for llm). DIR/fig3_summary.csv: mean and 95% CI over seeds per round; DIR/fig3_ablation.csv:
generator minus H+R ridge, paired; DIR/fig3_provenance.json: commit, versions, model, seeds, eq. 1.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gaidt import ns3_runner
from gaidt.campaign import FigureOptions, Task, executor_for, open_figure, provenance, task_key
from gaidt.plotting import pyplot
from gaidt.scenario3 import ChurnDriver, scenario3_config
from gaidt.stats import mean_ci
from gaidt_bridge.history import HistoryStore
from generators import forecast as fc
from generators import llm_forecast, model_convert
from generators import prioritization as pz
from generators.llm_client import LLMClient, check_endpoint
from generators.llm_server import endpoint

from .dashboard import Dashboard

PAPER_ACCURACY_ROUND_12 = 0.98
METHODS = ("H", "H+R", "H+R+GAI")
PREDICTORS = ("last", "linear", "ridge", "llm", "generator")
HORIZONS = (1, 3)
REQUIRED_ACCURACY = 0.98  # Scenario-3's accuracy requirement (the paper's 98%)
SCENARIO3_PRECEDENCE = ("accuracy", "density", "latency")
CSV_COLUMNS = ["method", "predictor", "horizon", "round", "seed", "accuracy", "scope", "sensors"]
ATTR_COLUMNS = ["method", "predictor", "horizon", "round", "seed", "attribute", "accuracy"]

# llm_sensors: sensors the model forecasts per origin round (one call per 3 sensors; ~1 s per sensor on CPU)
PROFILES = {
    "default": {"topology": "small", "seeds": [1, 2, 3], "rounds": 12, "period_s": 1.0, "llm_sensors": 3},
    "full": {"topology": "medium", "seeds": [1, 2, 3, 4, 5], "rounds": 12, "period_s": 1.0, "llm_sensors": 6},
    "tiny": {"topology": "small", "seeds": [1], "rounds": 5, "period_s": 0.5, "llm_sensors": 2},
}


def _truth_table(msg) -> dict:
    return next(t for t in msg.tables if t.kind == "sensor").states()


def eq1_scenario3(cfg: dict):
    """Eq. 1 on Scenario-3: (Prioritization, attribute weights for the generator)."""
    prio = pz.prioritize(pz.scenario_inputs(cfg, REQUIRED_ACCURACY), precedence=SCENARIO3_PRECEDENCE)
    return prio, llm_forecast.attribute_weights(prio.weights)


def forecast_rows(table, truth: dict, rounds: int, round_s: float, seed: int, horizons=HORIZONS, client=None,
                  llm_sensors: int = 0, prio=None, attr_weights=None, sensors_per_call: int = 3) -> dict:
    """Every predictor's forecasts of one run, scored: {"rows", "attribute_rows", "llm_calls", "gai"}.

    table: the run's HistoryStore.table(); truth: round -> node -> state (ns-3's ground truth).
    """
    hmax = max(horizons)
    rows, attr_rows, calls, gai_log = [], [], [], []
    llm_seen: dict = {}  # (node, last observed round, target) -> the model's state (the GAI stack's input)
    last_error: dict = {}
    prev_hr_forecast: dict = {}  # H+R ridge forecast of round k made at k-1 (for last_error)
    for k in range(1, rounds):
        targets = [t for t in range(k, k + hmax + 1) if t <= rounds]
        obs = {"H": fc.observations(table, k - 1), "H+R": fc.observations(table, k)}
        observed_now = {n: h[-1][1] for n, h in obs["H+R"].items() if h[-1][0] == k}
        last_error.update(fc.errors(prev_hr_forecast, observed_now))
        preds, models = {}, {}
        for info in ("H", "H+R"):
            models[info] = fc.RidgeForecaster(round_s).fit(obs[info])
            preds[(info, "last")] = fc.predict_last(obs[info], targets)
            preds[(info, "linear")] = fc.predict_linear(obs[info], targets)
            preds[(info, "ridge")] = models[info].predict(obs[info], targets)
        hr = obs["H+R"]
        prev_hr_forecast = {n: v[k + 1] for n, v in preds[("H+R", "ridge")].items() if k + 1 in v}
        chosen, llm_pred = [], {}
        if client is not None and llm_sensors > 0 and hr:
            unc = fc.uncertainty(hr, models["H+R"], preds[("H+R", "ridge")], k + 1, list(hr), last_error,
                                 attr_weights)
            chosen = llm_forecast.choose(unc, llm_sensors)
            llm_pred, audit = llm_forecast.llm_forecast(
                client, hr, chosen, k, targets, round_s, case=prio.case if prio else "",
                prioritized=prio.prioritized if prio else (), sensors_per_call=sensors_per_call)
            calls += [dict(a, origin=k) for a in audit]
            for n, by_t in llm_pred.items():
                for t, s in by_t.items():
                    if t > hr[n][-1][0]:
                        llm_seen[(n, hr[n][-1][0], t)] = s
            preds[("H+R", "llm")] = llm_pred
        gai = fc.RidgeForecaster(round_s, llm=llm_seen).fit(hr)
        preds[("H+R+GAI", "generator")] = gai.predict(hr, targets)
        gai_log.append({"origin": k, "rows": gai.rows, "llm_rows": sum(1 for key in llm_seen if key[2] <= k),
                        **{f"coef_{a}": gai.coefficient(a) for a in fc.NUMERIC}})
        generated = fc.node_order(llm_pred)
        for h in horizons:
            t = k + h
            if t > rounds or t not in truth or t - 1 not in truth:
                continue
            for (method, predictor), P in preds.items():
                pt = {n: v[t] for n, v in P.items()}
                pp = {n: v[t - 1] for n, v in P.items()}
                scopes = [("generated", generated)] if predictor == "llm" else [("all", None)]
                if predictor != "llm" and generated and method != "H":
                    scopes.append(("generated", generated))
                for scope, nodes in scopes:
                    per = fc.score(pt, truth[t], pp, truth[t - 1], nodes)
                    n_sens = len(truth[t]) if nodes is None else len(nodes)
                    key = {"method": method, "predictor": predictor, "horizon": h, "round": t, "seed": seed}
                    rows.append(key | {"accuracy": fc.overall(per), "scope": scope, "sensors": n_sens})
                    if scope == "all" or predictor == "llm":
                        attr_rows += [key | {"attribute": a, "accuracy": ok / n} for a, (ok, n) in per.items()]
    return {"rows": rows, "attribute_rows": attr_rows, "llm_calls": calls, "gai": gai_log}


def run_seed(topology: str, seed: int, rounds: int, period_s: float, out_dir: str, llm_sensors: int = 0,
             llm_url: str | None = None, llm_model: str | None = None, horizons=HORIZONS) -> dict:
    """One Scenario-3 run (a campaign task): the fig3.csv / fig3_attributes.csv rows of this seed."""
    cfg = scenario3_config(topology, seed, rounds, period_s)
    out = Path(out_dir)
    driver = ChurnDriver(cfg["topology"]["sensors"], seed, rounds)
    try:
        outcome = ns3_runner.run_scenario(cfg, out / "run", bridge=True, truth=True,
                                          on_start=driver.on_start, on_message=driver.on_message)
    finally:
        driver.close()
    client = None
    if llm_url:
        client = LLMClient(llm_url, llm_model, audit_path=out / "generations.jsonl", seed=seed)
    with HistoryStore(out / "run" / "history.sqlite") as store:
        store.run_id = store.db.execute("SELECT run_id FROM runs").fetchone()[0]
        table = store.table()
    truth = {int(k): _truth_table(m) for k, m in outcome.truth.items()}
    prio, attr_weights = eq1_scenario3(cfg)
    res = forecast_rows(table, truth, rounds, period_s, seed, horizons, client, llm_sensors if client else 0,
                        prio, attr_weights)
    valid = sum(c["valid"] for c in res["llm_calls"])
    return {"rows": res["rows"], "attribute_rows": res["attribute_rows"], "gai": res["gai"],
            "llm_calls": len(res["llm_calls"]), "llm_valid": valid, "commands_sent": driver.sent,
            "eq1": {"case": prio.case, "holding": list(prio.holding), "weights": prio.weights,
                    "attribute_weights": attr_weights},
            "model": (client.model if client else None), "twin": outcome.subscriber.get("snapshots")}


ARMS = (("H", "last"), ("H", "ridge"), ("H+R", "last"), ("H+R", "linear"), ("H+R", "ridge"),
        ("H+R+GAI", "generator"))


def per_round(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over seeds per (method, predictor, horizon, scope, round)."""
    out = []
    for key, g in df.groupby(["method", "predictor", "horizon", "scope", "round"]):
        m, lo, hi = mean_ci(g["accuracy"].tolist())
        out.append(dict(zip(["method", "predictor", "horizon", "scope", "round"], key),
                        mean=m, ci_low=lo, ci_high=hi, seeds=len(g)))
    return pd.DataFrame(out)


def ablation(df: pd.DataFrame) -> pd.DataFrame:
    """The generator's own contribution: H+R+GAI generator minus H+R ridge (the same model without the
    model's input), paired per (round, seed), per horizon and scope: mean, 95% CI, pairs up/down/equal."""
    out = []
    for (h, scope), g in df.groupby(["horizon", "scope"]):
        piv = g.pivot_table(index=["round", "seed"], columns=["method", "predictor"], values="accuracy")
        if ("H+R+GAI", "generator") not in piv or ("H+R", "ridge") not in piv:
            continue
        d = (piv[("H+R+GAI", "generator")] - piv[("H+R", "ridge")]).dropna()
        m, lo, hi = mean_ci(d.tolist())
        out.append({"horizon": h, "scope": scope, "pairs": len(d), "mean_points": 100 * m, "ci_low_points": 100 * lo,
                    "ci_high_points": 100 * hi, "up": int((d > 1e-12).sum()), "down": int((d < -1e-12).sum()),
                    "equal": int((d.abs() <= 1e-12).sum())})
    return pd.DataFrame(out)


def plot(df: pd.DataFrame, path: Path) -> None:
    """Accuracy against target round with 95% CIs, one panel per horizon, beside the paper's 98%."""
    plt = pyplot()

    s = per_round(df[df.scope == "all"])
    horizons = sorted(s.horizon.unique())
    fig, axes = plt.subplots(1, len(horizons), figsize=(6.2 * len(horizons), 4.4), squeeze=False)
    colors = {"last": "#ff7f0e", "linear": "#2ca02c", "ridge": "#1f77b4", "generator": "#9467bd"}
    styles = {"H": ":", "H+R": "-", "H+R+GAI": "-"}
    for ax, h in zip(axes[0], horizons):
        for method, predictor in ARMS:
            g = s[(s.horizon == h) & (s.method == method) & (s.predictor == predictor)].sort_values("round")
            if g.empty:
                continue
            ax.plot(g["round"], 100 * g["mean"], marker="o", ms=3, ls=styles[method], color=colors[predictor],
                    lw=2.2 if method == "H+R+GAI" else 1.3, label=f"{method} · {predictor}")
            if g["ci_low"].notna().all():
                ax.fill_between(g["round"], 100 * g["ci_low"], 100 * g["ci_high"], color=colors[predictor],
                                alpha=0.12)
        ax.scatter([12], [100 * PAPER_ACCURACY_ROUND_12], marker="*", s=160, color="black", zorder=5,
                   label="paper: H+R+GAI at round 12 (98%)")
        ax.set_xlabel("target round (twinning rate r = 0.8)")
        ax.set_ylabel("forecast accuracy (%), 95% CI over seeds")
        ax.set_title(f"forecast {h} round{'s' if h > 1 else ''} ahead", fontsize=10)
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Fig. 3 as a forecast: twin vs ns-3 ground truth, dynamic attributes", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


@dataclass
class Fig3Options(FigureOptions):
    """What `run.py fig3` runs: FigureOptions plus no_llm (no model calls: no llm rows, and the
    generator equals H+R ridge)."""

    no_llm: bool = False


@dataclass
class Fig3Outcome:
    """What a Fig. 3 campaign produced: run counts, the rows written to ``out`` (fig3.csv), the
    ablation frame, failed runs and wall seconds. ``exit_code`` is 0 when no run failed."""

    out: Path
    counts: dict
    fig3: pd.DataFrame
    ablation: pd.DataFrame
    n_failed: int
    wall_s: float

    @property
    def exit_code(self) -> int:
        """0 when no run failed, else 1."""
        return 0 if self.n_failed == 0 else 1


def run_fig3(options: Fig3Options) -> Fig3Outcome:
    """Run (or resume) the Fig. 3 campaign in ``options.out`` and write its files (module docstring).

    Raises UsageError for an unusable folder or profile and EndpointError when the LLM endpoint
    fails (checked before any run is spent)."""
    t0 = time.monotonic()
    profile, out, camp = open_figure("fig3", PROFILES, options.out, options.profile, options.allow_other_build)
    no_llm = options.no_llm

    def summary_text(task, outcome):
        rows = [r for r in outcome["result"]["rows"] if r["horizon"] == 1 and r["scope"] == "all"]
        last = max(r["round"] for r in rows)
        return ", ".join(f"{r['method']}/{r['predictor']} {100 * r['accuracy']:.0f}%" for r in rows
                         if r["round"] == last)

    def make_tasks(url, model):
        tasks = []
        for seed in profile["seeds"]:
            params = {"topology": profile["topology"], "seed": seed, "rounds": profile["rounds"],
                      "period_s": profile["period_s"], "llm_sensors": profile["llm_sensors"]}
            key = task_key("fig3-forecast", dict(params, llm=not no_llm, model=model))
            tasks.append(Task(key, "experiments.fig3:run_seed",
                              dict(params, out_dir=str(out / "runs" / key.split(":")[1]), llm_url=url, llm_model=model),
                              f"{profile['topology']} S3 seed {seed}"))
        return tasks

    def go(url, model):
        tasks = make_tasks(url, model)
        counts = camp.run_missing(tasks, executor_for(options.scheduler, options.workers),
                                  Dashboard("fig3", summary_text, quiet=options.quiet))
        return tasks, counts

    model = None
    embedded = not (options.llm_url or options.llm_model or os.environ.get("GAIDT_LLM_URL"))
    try:
        done = camp.done_keys()
        if no_llm:
            tasks, counts = go(None, None)
        elif embedded and all(t.key in done for t in make_tasks(None, model_convert.SERVED_NAME)):
            # every run of the embedded model is done: rewrite the CSVs without starting the model
            model = model_convert.SERVED_NAME
            tasks = make_tasks(None, model)
            counts = {"done": 0, "failed": 0, "skipped": len(tasks), "total": len(tasks)}
        else:
            api_key = options.llm_api_key
            with endpoint(options.llm_url, options.llm_model, api_key) as ep:
                model = check_endpoint(ep.url, ep.model, api_key)  # before any run is spent
                tasks, counts = go(ep.url, model)
        keys = {t.key for t in tasks}
        results = camp.results(keys)
    finally:
        camp.close()
    rows = [r for res in results.values() for r in res["rows"]]
    attr_rows = [r for res in results.values() for r in res["attribute_rows"]]
    df = pd.DataFrame(rows, columns=CSV_COLUMNS)
    df = df.sort_values(["method", "predictor", "horizon", "scope", "round", "seed"])
    df.to_csv(out / "fig3.csv", index=False)
    pd.DataFrame(attr_rows, columns=ATTR_COLUMNS).sort_values(ATTR_COLUMNS[:6]).to_csv(out / "fig3_attributes.csv",
                                                                                       index=False)
    abl = pd.DataFrame()
    if len(df):
        per_round(df).to_csv(out / "fig3_summary.csv", index=False)
        abl = ablation(df)
        abl.to_csv(out / "fig3_ablation.csv", index=False)
        plot(df, out / "fig3.png")
    n_failed = len(tasks) - len(results)
    wall_s = time.monotonic() - t0
    first = next(iter(results.values()), {})
    prov = provenance() | {"profile": options.profile, "settings": profile, "seeds": profile["seeds"], "model": model,
                           "wall_s": wall_s, "eq1": first.get("eq1"),
                           "llm_calls": sum(r.get("llm_calls", 0) for r in results.values()),
                           "llm_valid": sum(r.get("llm_valid", 0) for r in results.values()),
                           "gai_coefficients": {k.split(":")[1]: r.get("gai", [])[-1:] for k, r in results.items()},
                           "command": "experiments/run.py fig3" + (" --full" if options.profile == "full" else "")
                           + (" --no-llm" if no_llm else "")}
    (out / "fig3_provenance.json").write_text(json.dumps(prov, indent=1, default=str))
    return Fig3Outcome(out, counts, df, abl, n_failed, wall_s)


def report_lines(outcome: Fig3Outcome) -> list[str]:
    """The lines `run.py fig3` prints on stdout: counts, files written, accuracy and the ablation."""
    out, counts, df, abl = outcome.out, outcome.counts, outcome.fig3, outcome.ablation
    lines = [f"fig3: {counts['done']} ran, {counts['skipped']} skipped (already done), {counts['failed']} failed; "
             f"{outcome.wall_s:.0f} s",
             f"fig3: {len(df)} rows in {out / 'fig3.csv'}, {out / 'fig3_attributes.csv'}; figure {out / 'fig3.png'}; "
             f"{outcome.n_failed} failed runs"]
    if len(df):
        s = per_round(df[df.scope == "all"])
        last = s[s["round"] == s["round"].max()]
        lines.append(f"fig3: accuracy at round {s['round'].max()} (paper: H+R+GAI {100 * PAPER_ACCURACY_ROUND_12:.0f}% "
                     "at round 12):")
        for _, r in last.sort_values(["horizon", "method", "predictor"]).iterrows():
            lines.append(f"  h={r['horizon']} {r['method']:8s} {r['predictor']:9s} {100 * r['mean']:.1f}% "
                         f"over {int(r['seeds'])} seeds")
        lines.append("fig3: the generator's own contribution (H+R+GAI generator - H+R ridge, points, paired):")
        for _, r in abl.iterrows():
            lines.append(f"  h={r['horizon']} {r['scope']:9s} {r['mean_points']:+.2f} (95% CI {r['ci_low_points']:+.2f} "
                         f".. {r['ci_high_points']:+.2f}) over {r['pairs']} pairs: {r['up']} up, {r['down']} down, "
                         f"{r['equal']} equal")
    return lines
