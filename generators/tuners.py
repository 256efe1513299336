"""Proposers: the arms that suggest generatable values to the tuning loop (closed_loop.search).

Every arm speaks one candidate interface, so the loop gives each the same tuning seed, the
same base run, the same number of new ns-3 runs (k per iteration, `iterations` iterations),
the same compile step and the same objective O. Only where the values come from differs:

  arm       class            where the values come from
  proposed  LLMProposer      the model (vLLM, JSON-schema output) prompted with the scenario, the
                             case and weights of eq. 1, the twins R and H and every scored point
  random    RandomProposer   uniform draws over the generation schema (numpy, seeded)
  rule      RuleProposer     one line: access_spread_s = report period (services/mmtc.py's repair);
                             a single candidate, so it spends at most one new run
  tpe       TPEProposer      Optuna's TPE sampler (seeded) through ask/tell; the base run is told
                             to it as its first trial, as the LLM sees it in its prompt

A proposer returns Proposal(values, error): values is a dict of schema fields, or None with the
reason when the arm produced nothing usable (the LLM's invalid output). After the runs the loop
calls observe(proposal, O) with the measured objective (None when the config was rejected or its
run failed), which is how TPE learns; the others ignore it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

ARMS = ("proposed", "random", "rule", "tpe")


@dataclass
class Proposal:
    """One suggestion: schema values, or None and the reason nothing usable came out."""
    values: dict | None
    error: str | None = None
    token: Any = None  # the arm's own handle (an Optuna trial)


@dataclass
class Context:
    """What the loop knows when it asks for more candidates."""
    iteration: int
    attempt: int  # 0 first ask of the iteration, then 1.. for resamples after repeats
    scored: list[dict] = field(default_factory=list)  # {"values", "O", "T"} so far, base first
    base_values: dict = field(default_factory=dict)


class Proposer:
    """Base class: the interface closed_loop.search() drives."""
    name = "base"
    llm_requests = 0

    def propose(self, n: int, ctx: Context) -> list[Proposal]:
        """Up to n candidate proposals for this iteration (fewer, or none, when the tuner has nothing more to
        try)."""
        raise NotImplementedError

    def observe(self, proposal: Proposal, O: float | None) -> None:  # noqa: N803 (O is the paper's name)
        """Feedback after the runs: the measured O, or None (rejected or failed)."""


class LLMProposer(Proposer):
    """The paper's generator: the model answers the prompt with schema-valid values."""
    name = "proposed"

    def __init__(self, client, build_messages, schema: dict):
        """client: an LLMClient; build_messages(scored) -> chat messages; schema: the generation schema."""
        self.client, self.build_messages, self.schema = client, build_messages, schema
        self.llm_requests = 0

    def propose(self, n, ctx):
        """n candidates from the model (invalid ones as proposals without values, with the reason)."""
        before = self.client.stats["requests"]
        cands = self.client.generate(self.build_messages(ctx.scored), self.schema, n=n, name="scenario_candidate",
                                     purpose=f"iteration-{ctx.iteration}" + (f"-resample-{ctx.attempt}"
                                                                            if ctx.attempt else ""))
        self.llm_requests += self.client.stats["requests"] - before
        return [Proposal(c.value if c.valid else None, c.error) for c in cands]


def _draw(rng: np.random.Generator, sub: dict):
    """One uniform draw from a generation-schema property (enum, integer or number range)."""
    if "enum" in sub:
        return sub["enum"][int(rng.integers(len(sub["enum"])))]
    lo, hi = sub.get("minimum", 0), sub.get("maximum")
    if sub.get("type") == "integer":
        return int(rng.integers(int(lo), int(hi) + 1))
    return round(float(rng.uniform(float(lo), float(hi))), 4)


class RandomProposer(Proposer):
    """Random search: independent uniform draws over the generation schema."""
    name = "random"

    def __init__(self, schema: dict, seed: int):
        self.schema = schema
        self.rng = np.random.default_rng(seed)

    def propose(self, n, ctx):
        """n candidates drawn uniformly (seeded) from the generation schema."""
        props = self.schema["properties"]
        return [Proposal({k: _draw(self.rng, sub) for k, sub in props.items()}) for _ in range(n)]


class RuleProposer(Proposer):
    """The one-line rule: spread the period's reports over the whole period (spread = report period)."""
    name = "rule"

    def __init__(self, schema: dict, report_period_s: float):
        self.schema, self.period = schema, float(report_period_s)
        self.done = False

    def propose(self, n, ctx):
        """The one rule candidate (access_spread_s = report period), once; then nothing."""
        if self.done or "access_spread_s" not in self.schema["properties"]:
            return []  # nothing more to try: the loop spends no further runs
        self.done = True
        return [Proposal(dict(ctx.base_values, access_spread_s=self.period))]


class TPEProposer(Proposer):
    """Optuna's TPE (tree-structured Parzen estimator), seeded, through ask/tell.

    n_startup_trials (random trials before TPE models the space) is set to half the run budget
    (at least 1): Optuna's default of 10 would make TPE pure random search at our budgets.
    """
    name = "tpe"

    def __init__(self, schema: dict, seed: int, budget_runs: int):
        import optuna  # the tpe arm's dependency only

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.dists = {}
        for k, sub in schema["properties"].items():
            if "enum" in sub:
                self.dists[k] = optuna.distributions.CategoricalDistribution(list(sub["enum"]))
            elif sub.get("type") == "integer":
                self.dists[k] = optuna.distributions.IntDistribution(int(sub["minimum"]), int(sub["maximum"]))
            else:
                self.dists[k] = optuna.distributions.FloatDistribution(float(sub.get("minimum", 0)),
                                                                       float(sub["maximum"]))
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(1, budget_runs // 2))
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.told_base = False

    def _tell_base(self, ctx: Context) -> None:
        if self.told_base or not ctx.scored:
            return
        self.told_base = True
        base = ctx.scored[0]
        params = {k: v for k, v in base["values"].items() if k in self.dists}
        try:
            self.study.add_trial(self.optuna.trial.create_trial(params=params, distributions=self.dists,
                                                                value=float(base["O"])))
        except ValueError:
            pass  # the base lies outside the (narrowed) schema: TPE starts without it

    def propose(self, n, ctx):
        """n candidates asked of Optuna's TPE sampler (told the base run first)."""
        self._tell_base(ctx)
        out = []
        for _ in range(n):
            trial = self.study.ask(self.dists)
            out.append(Proposal({k: (round(v, 4) if isinstance(v, float) else v) for k, v in trial.params.items()},
                                token=trial))
        return out

    def observe(self, proposal, O):  # noqa: N803
        """Tell the sampler a proposal's objective O (None: the run failed)."""
        if proposal.token is None:
            return
        if O is None:
            self.study.tell(proposal.token, state=self.optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(proposal.token, float(O))
        proposal.token = None  # told once, even when the same proposal is listed twice
