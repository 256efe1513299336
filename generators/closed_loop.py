"""The closed loop: weights -> K generated candidates -> ns-3 -> O -> next prompt (OPRO-style).

proposed(base_cfg, out_dir, client) is the paper's GAI-enabled scenario twin for Fig. 2:
  0. p(.) gives the case and the weights (prioritization.py);
  1. the base config runs once with the twin bridge: its TwinGraph is the
     real-time twin R, its history store window the historical twins H, and its
     measured O the first scored point;
  2. each iteration asks the model for K candidates (prompt.py, with every
     scored candidate so far), compiles them (compile.py), runs the valid ones
     in ns-3 in parallel and scores O (objective.py) from their result.json;
  3. after N iterations the best measured O wins. The base config is a
     candidate too, so the loop never returns a config that measured worse than
     what it was given (include_base=False drops it from the choice).
Every candidate run uses the base seed (common random numbers), so two configs
differ in O only through the generated fields. Invalid model output is recorded
with its reason and never reaches ns-3; a failed ns-3 run is recorded too.

search(base_cfg, out_dir, arm) is the same loop with any arm of generators/tuners.py:
"proposed" (the LLM, as above), "random" (random search over the generation schema),
"rule" (access_spread_s = report period) or "tpe" (Optuna TPE). All arms get the same
base run, weights, budget (k new ns-3 runs per iteration), compile step and O.

traditional(base_cfg, out_dir) is Fig. 2's baseline: the same pipeline with
random weights and no generated configuration -- the base config runs as it is.

The ns-3 runs go through gaidt.ns3_runner.run_scenario (the one place
that starts ns-3) from a pool of `workers` threads: each worker only waits on
its ns-3 process, so the simulations run in parallel on as many cores.

Files written to out_dir: candidates.csv (one row per candidate, valid or not),
generations.jsonl (the LLM audit: every raw output), best_config.json,
best_result.json, summary.json, and one folder per ns-3 run.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt_bridge.history import HistoryStore

from . import objective, prioritization, tuners
from .compile import compile_candidate
from .generation_schema import current_values, generation_schema
from .llm_client import LLMClient, check_endpoint
from .llm_server import endpoint
from .prompt import build_messages

CSV_FIELDS = ["iteration", "index", "source", "status", "reason", "config_hash", "values", "O",
              "T_rho", "T_d", "T_l", "T_alpha", "rho", "d", "l_ms", "alpha", "goodput_bps", "wall_s", "run_dir"]


@dataclass
class LoopResult:
    """What proposed()/traditional() return."""
    best_config: dict
    best_result: dict
    best_O: float
    case: str
    weights: dict
    candidates: list[dict] = field(default_factory=list)  # the rows of candidates.csv
    best_O_per_iteration: list[float] = field(default_factory=list)  # index 0: the base config
    out_dir: Path | None = None
    llm_stats: dict = field(default_factory=dict)
    arm: str = "proposed"
    runs_per_iteration: list[int] = field(default_factory=list)  # ns-3 runs spent after each iteration
    wall_s: float = 0.0
    llm_requests: int = 0


def proposal_counts(res: LoopResult) -> dict:
    """How a loop's proposals fared, from its candidate rows: proposals (generated, every iteration),
    repeated (the same config as one already measured: the base or an earlier proposal), repeated_base
    (the base config itself), unusable (invalid output, rejected by the compiler, or a failed run),
    new_configs (configs measured for the first time), better_than_base (new configs whose O beat the
    base's), base_O and best_O."""
    rows = res.candidates
    base = next((r for r in rows if r["source"] == "base"), None)
    props = [r for r in rows if r["iteration"] >= 1]
    ran = [r for r in props if r["status"] == "ran"]
    base_O = base["O"] if base is not None else None
    return {"proposals": len(props), "repeated": sum(r["status"] == "duplicate" for r in props),
            "repeated_base": sum(base is not None and r["config_hash"] == base["config_hash"] for r in props),
            "unusable": sum(r["status"] in ("invalid_output", "rejected", "run_failed") for r in props),
            "new_configs": len(ran),
            "better_than_base": sum(base_O is not None and r["O"] is not None and r["O"] > base_O for r in ran),
            "base_O": base_O, "best_O": res.best_O}


@contextlib.contextmanager
def llm_session(url: str | None = None, model: str | None = None, api_key: str | None = None,
                audit_path: str | Path | None = None, port: int | None = None, **client_kw):
    """An LLMClient on the configured endpoint, or on the embedded server started for the block.

    Reuse one session for a whole experiment (e.g. all Fig. 2 scenarios) so the server starts once.
    """
    with endpoint(url, model, api_key, port=port) as ep:
        client = LLMClient(ep.url, ep.model, ep.api_key, audit_path=audit_path, **client_kw)
        client.server_startup_s = ep.server.startup_s if ep.server is not None else None
        if not client.model:
            client.model = check_endpoint(ep.url, None, ep.api_key)
        yield client


def _run_one(cfg: dict, run_dir: Path, bridge: bool = False):
    try:
        return ns3_runner.run_scenario(cfg, run_dir, bridge=bridge), None
    except (ns3_runner.Ns3Error, configmod.ConfigError) as e:
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"


def _row(iteration, index, source, values, status, reason=None, cfg=None, outcome=None, O=None, T=None):
    r = {"iteration": iteration, "index": index, "source": source, "status": status, "reason": reason or "",
         "config_hash": configmod.config_hash(cfg) if cfg else "",
         "values": json.dumps(values, separators=(",", ":")) if values is not None else "", "O": O}
    for k in prioritization.KPIS:
        r[f"T_{k}"] = None if T is None else T[k]
    if outcome is not None:
        k = outcome.result["kpis"]
        r.update(rho=k.get("rho"), d=k.get("d"), l_ms=k.get("l"), alpha=k.get("alpha"),
                 goodput_bps=outcome.result["totals"].get("goodput_bps"), wall_s=round(outcome.wall_s, 2),
                 run_dir=str(outcome.out_dir))
    return r


def _history_inputs(outcome):
    """(TwinGraph R, history window H) of a bridged run, or (None, None)."""
    if outcome is None or outcome.graph is None:
        return None, None
    window = None
    path = outcome.out_dir / "history.sqlite"
    if path.exists():
        with HistoryStore(path) as store:
            runs = [r[0] for r in store.db.execute("SELECT run_id FROM runs")]
            if runs:
                window = store.window(20, run_id=runs[-1])
    return outcome.graph, window


def _write_outputs(out: Path, rows: list[dict], res: LoopResult, extra: dict) -> None:
    with open(out / "candidates.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    (out / "best_config.json").write_text(json.dumps(res.best_config, indent=1))
    (out / "best_result.json").write_text(json.dumps(res.best_result, indent=1))
    summary = {"case": res.case, "weights": res.weights, "best_O": res.best_O,
               "best_O_per_iteration": res.best_O_per_iteration,
               "best_config_hash": configmod.config_hash(res.best_config), "llm": res.llm_stats, **extra}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


def proposed(base_cfg: dict, out_dir: str | Path, client: LLMClient | None = None, *, k: int = 3,
             iterations: int = 2, required_accuracy: float | None = None, weights_seed: int | None = None,
             thresholds: prioritization.Thresholds = prioritization.Thresholds(), share: float = 0.7,
             workers: int | None = None, include_base: bool = True, fields=None, max_prompt_chars: int = 4500,
             log=None, resample: int = 2) -> LoopResult:
    """Run the closed loop on a resolved base config (see module docstring).

    client: an LLMClient (e.g. from llm_session()); None opens llm_session() for this call only.
    weights_seed: seed of the random case's weights (default: the config's seed).
    """
    if client is None:
        with llm_session(audit_path=Path(out_dir) / "generations.jsonl") as c:
            return proposed(base_cfg, out_dir, c, k=k, iterations=iterations, required_accuracy=required_accuracy,
                            weights_seed=weights_seed, thresholds=thresholds, share=share, workers=workers,
                            include_base=include_base, fields=fields, max_prompt_chars=max_prompt_chars, log=log,
                            resample=resample)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    saved, client.audit_path = client.audit_path, out / "generations.jsonl"  # this loop's audit, beside its results
    try:
        return search(base_cfg, out, "proposed", client, k=k, iterations=iterations,
                      required_accuracy=required_accuracy, weights_seed=weights_seed, thresholds=thresholds,
                      share=share, workers=workers, include_base=include_base, fields=fields,
                      max_prompt_chars=max_prompt_chars, log=log, resample=resample)
    finally:
        client.audit_path = saved


def search(base_cfg: dict, out_dir: str | Path, arm: str = "proposed", client: LLMClient | None = None, *,
           k: int = 3, iterations: int = 2, seed: int | None = None, required_accuracy: float | None = None,
           weights_seed: int | None = None, thresholds: prioritization.Thresholds = prioritization.Thresholds(),
           share: float = 0.7, workers: int | None = None, include_base: bool = True, fields=None,
           max_prompt_chars: int = 4500, log=None, resample: int = 2, base_outcome=None) -> LoopResult:
    """The tuning loop with any arm of generators.tuners (proposed, random, rule, tpe).

    Every arm gets the same base run, case and weights (eq. 1), the same budget of at most k new
    ns-3 runs per iteration for `iterations` iterations, the same compile step and the same O.
    seed: the random/tpe arms' sampler seed (default: the config's seed). client: the LLM for
    arm "proposed" (unused by the others). base_outcome: an ns3_runner outcome of this very base
    config (same canonical config and seed), e.g. shared by several arms; None runs it here.
    """
    if arm not in tuners.ARMS:
        raise ValueError(f"arm = {arm!r}: allowed: {', '.join(tuners.ARMS)}")
    if arm == "proposed" and client is None:
        raise ValueError("arm 'proposed' needs an LLM client")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _search(base_cfg, out, arm, client, k, iterations, seed, required_accuracy, weights_seed, thresholds,
                   share, workers, include_base, fields, max_prompt_chars, log or (lambda *a: None), resample,
                   base_outcome)


def _make_proposer(arm, base_cfg, schema, client, prio, graph, window, base_vals, max_prompt_chars, seed, budget):
    if arm == "proposed":
        def messages(scored):
            return build_messages(base_cfg, base_vals, prio.case, prio.weights, schema, graph=graph,
                                  window=window, scored=scored, max_chars=max_prompt_chars)
        return tuners.LLMProposer(client, messages, schema)
    if arm == "random":
        return tuners.RandomProposer(schema, seed)
    if arm == "rule":
        return tuners.RuleProposer(schema, base_cfg["traffic"]["report_period_s"])
    return tuners.TPEProposer(schema, seed, budget)


def canonical_base(base_cfg: dict, fields=None) -> dict:
    """The base config in the candidates' canonical form (e.g. 30 -> 30.0 dBm), so that a candidate
    equal to it hashes the same and is one run."""
    base_cfg = configmod.validate(base_cfg)
    return compile_candidate(base_cfg, current_values(base_cfg, fields), fields=fields).config or base_cfg


def run_base(base_cfg: dict, out_dir: str | Path, fields=None):
    """Run the canonical base config once, with the twin bridge (the LLM arm's R and H come from it)."""
    outcome, err = _run_one(canonical_base(base_cfg, fields), Path(out_dir), bridge=True)
    if outcome is None:
        raise ns3_runner.Ns3Error(f"the base config failed to run: {err}")
    return outcome


def _search(base_cfg, out, arm, client, k, iterations, seed, required_accuracy, weights_seed, thresholds, share,
            workers, include_base, fields, max_prompt_chars, log, resample, base_outcome=None) -> LoopResult:
    t_start = time.monotonic()
    base_cfg = canonical_base(base_cfg, fields)
    workers = workers or os.cpu_count() or 1
    deadline = float(base_cfg["network"]["deadline_ms"])
    prio = prioritization.prioritize(prioritization.scenario_inputs(base_cfg, required_accuracy),
                                     rng=base_cfg["seed"] if weights_seed is None else weights_seed,
                                     thresholds=thresholds, share=share)
    schema = generation_schema(base_cfg, fields)
    stats0 = dict(client.stats) if client is not None else {}
    log(f"[{arm}] case {prio.case} (holding: {', '.join(prio.holding) or 'none'}); weights "
        + " ".join(f"{q}={prio.weights[q]:.3f}" for q in prioritization.KPIS))

    rows: list[dict] = []
    scored: list[dict] = []  # for the prompt: {"values", "O", "T"}
    runs: dict[str, tuple] = {}  # config_hash -> (outcome, O, T): identical configs run once
    base_vals = current_values(base_cfg, fields)
    if base_outcome is None:
        base_outcome = run_base(base_cfg, out / "base", fields)
    O0, T0 = objective.score_result(base_outcome.result, prio.weights, deadline)
    runs[configmod.config_hash(base_cfg)] = (base_outcome, O0, T0)
    rows.append(_row(0, 0, "base", base_vals, "ran", cfg=base_cfg, outcome=base_outcome, O=O0, T=T0))
    scored.append({"values": base_vals, "O": O0, "T": T0})
    graph, window = _history_inputs(base_outcome)
    best = (O0, base_cfg, base_outcome) if include_base else (float("-inf"), None, None)
    per_iteration = [O0]
    runs_so_far = [1]  # ns-3 runs spent after each iteration (index 0: the base run)
    log(f"[{arm}] iteration 0: base O={O0:.4f}")
    proposer = _make_proposer(arm, base_cfg, schema, client, prio, graph, window, base_vals, max_prompt_chars,
                              base_cfg["seed"] if seed is None else seed, k * iterations)
    source = "llm" if arm == "proposed" else arm

    for it in range(1, iterations + 1):
        t0 = time.monotonic()
        # OPRO-style sampling: a candidate identical to an already measured config
        # brings no information, so ask again (at most `resample` more calls) until
        # k new configs are in hand; duplicates stay recorded as such.
        props, to_run, fresh = [], [], {}
        for attempt in range(1 + resample):
            want = k - len(fresh)
            if want <= 0:
                break
            batch = proposer.propose(want, tuners.Context(it, attempt, scored, base_vals))
            if not batch:
                break
            for p in batch:
                i = len(props)
                props.append(p)
                if p.values is None:
                    rows.append(_row(it, i, source, None, "invalid_output", p.error))
                    proposer.observe(p, None)
                    continue
                comp = compile_candidate(base_cfg, p.values, name_suffix=f"it{it}-c{i}", fields=fields)
                if not comp.ok:
                    rows.append(_row(it, i, source, p.values, "rejected", comp.reason))
                    proposer.observe(p, None)
                    continue
                cfg = dict(comp.config, name=base_cfg.get("name", "scenario"))  # name does not change the run
                to_run.append((i, p, cfg))
                h = configmod.config_hash(cfg)
                if h not in runs and h not in fresh:
                    fresh[h] = (cfg, out / f"it{it}-c{i}")
        gen_s = time.monotonic() - t0
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(fresh) or 1))) as pool:
            futures = {h: pool.submit(_run_one, cfg, d) for h, (cfg, d) in fresh.items()}
            for h, fut in futures.items():
                outcome, err = fut.result()
                if outcome is None:
                    runs[h] = (None, None, err)
                else:
                    O, T = objective.score_result(outcome.result, prio.weights, deadline)
                    runs[h] = (outcome, O, T)
        labelled: set[str] = set()  # a config ran once: only its first candidate row says "ran"
        for i, p, cfg in to_run:
            h = configmod.config_hash(cfg)
            outcome, O, T = runs[h]
            if outcome is None:
                rows.append(_row(it, i, source, p.values, "run_failed", T, cfg=cfg))
                proposer.observe(p, None)
                continue
            status = "ran" if h in fresh and h not in labelled else "duplicate"
            labelled.add(h)
            rows.append(_row(it, i, source, p.values, status,
                             None if status == "ran" else "same config as an earlier run",
                             cfg=cfg, outcome=outcome, O=O, T=T))
            proposer.observe(p, O)
            scored.append({"values": p.values, "O": O, "T": T})
            if O > best[0]:
                best = (O, cfg, outcome)
        rows.sort(key=lambda r: (r["iteration"], r["index"]))
        per_iteration.append(best[0])
        runs_so_far.append(runs_so_far[-1] + len(fresh))
        n_valid = sum(p.values is not None for p in props)
        log(f"[{arm}] iteration {it}: {n_valid}/{len(props)} usable proposals in {gen_s:.1f} s, "
            f"{len(fresh)} new runs, best O={best[0]:.4f}")

    if best[1] is None:  # include_base=False and nothing generated ran: fall back to the base
        best = (O0, base_cfg, base_outcome)
    stats = {k_: v - stats0[k_] for k_, v in client.stats.items()} if client is not None else {}
    res = LoopResult(best[1], best[2].result, best[0], prio.case, prio.weights, rows, per_iteration, out, stats,
                     arm=arm, runs_per_iteration=runs_so_far, wall_s=time.monotonic() - t_start,
                     llm_requests=getattr(proposer, "llm_requests", 0))
    extra = {"method": arm, "k": k, "iterations": iterations, "holding_cases": list(prio.holding),
             "ns3_runs": runs_so_far[-1], "runs_per_iteration": runs_so_far, "wall_s": round(res.wall_s, 2),
             "llm_requests": res.llm_requests}
    if client is not None and arm == "proposed":
        extra.update(model=client.model, url=client.base_url)
    _write_outputs(out, rows, res, extra)
    return res


def traditional(base_cfg: dict, out_dir: str | Path, *, weights_seed: int | None = None, bridge: bool = False) -> LoopResult:
    """Fig. 2's baseline: random (seeded) weights, no generated configuration; the base config runs as it is."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base_cfg = configmod.validate(base_cfg)
    w = prioritization.weights("random", base_cfg["seed"] if weights_seed is None else weights_seed)
    outcome, err = _run_one(base_cfg, out / "base", bridge=bridge)
    if outcome is None:
        raise ns3_runner.Ns3Error(f"the base config failed to run: {err}")
    O, T = objective.score_result(outcome.result, w, float(base_cfg["network"]["deadline_ms"]))
    rows = [_row(0, 0, "base", current_values(base_cfg), "ran", cfg=base_cfg, outcome=outcome, O=O, T=T)]
    res = LoopResult(base_cfg, outcome.result, O, "random", w, rows, [O], out)
    _write_outputs(out, rows, res, {"method": "traditional"})
    return res
