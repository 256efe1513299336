"""`run.py bench llm [--json]`: the generator's numbers on this machine (a benchmark, not a test).

Reports
  server_startup_s         embedded vLLM start-up (null when an existing endpoint is used)
  valid_rate               schema-valid candidates / candidates, after the client's retries
  raw_valid_rate           schema-valid choices / choices returned (before retries)
  s_per_candidate          request seconds / choices, for n=1 requests and for n=3 requests
  tokens_per_s             completion tokens / request seconds (n=1 and n=3)
  closed_loop              first of --topologies (default small), K=3: best O per iteration and the iterations until O
                           stopped improving (the last iteration that raised the best O)
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from gaidt import config as configmod

from . import closed_loop
from .generation_schema import current_values, generation_schema
from .prioritization import prioritize, scenario_inputs
from .prompt import build_messages


def _rates(stats_before: dict, stats_after: dict) -> dict:
    d = {k: stats_after[k] - stats_before[k] for k in stats_before}
    return {"requests": d["requests"], "choices": d["choices"], "valid_choices": d["valid"],
            "s_per_candidate": d["request_s"] / d["choices"] if d["choices"] else None,
            "tokens_per_s": d["completion_tokens"] / d["request_s"] if d["request_s"] else None}


def iterations_until_stable(best_per_iteration: list[float], eps: float = 1e-9) -> int:
    """The last iteration (1-based; 0 = base only) whose best O exceeded the previous best by > eps."""
    last = 0
    for i in range(1, len(best_per_iteration)):
        if best_per_iteration[i] > best_per_iteration[i - 1] + eps:
            last = i
    return last


def run(llm_url=None, llm_model=None, llm_api_key=None, generations: int = 24, iterations: int = 4,
        config_name: str = "small", out_dir: str | Path | None = None, log=None, progress=None) -> dict:
    """The report (see module docstring); log/progress: an optional callable for progress lines."""
    log = log or progress or (lambda *a: None)
    out = Path(out_dir or tempfile.mkdtemp(prefix="gaidt-bench-llm-"))
    cfg = configmod.example(config_name)
    with closed_loop.llm_session(llm_url, llm_model, llm_api_key, audit_path=out / "generations.jsonl") as client:
        prio = prioritize(scenario_inputs(cfg), rng=cfg["seed"])
        schema = generation_schema(cfg)
        msgs = build_messages(cfg, current_values(cfg), prio.case, prio.weights, schema)
        report = {"model": client.model, "url": client.base_url, "server_startup_s": client.server_startup_s,
                  "prompt_chars": len(msgs[1]["content"])}
        candidates = valid = 0
        for n in (1, 3):
            before = dict(client.stats)
            count = 0
            while count < generations // 2:
                got = client.generate(msgs, schema, n=min(n, generations // 2 - count), purpose=f"bench-n{n}")
                count += len(got)
                candidates += len(got)
                valid += sum(c.valid for c in got)
            report[f"n{n}"] = _rates(before, client.stats)
            log(f"n={n}: {json.dumps(report[f'n{n}'])}")
        choices = report["n1"]["choices"] + report["n3"]["choices"]
        report["generations"] = candidates
        report["valid_rate"] = valid / candidates if candidates else None
        report["raw_valid_rate"] = ((report["n1"]["valid_choices"] + report["n3"]["valid_choices"]) / choices
                                    if choices else None)
        t1 = time.monotonic()
        res = closed_loop.proposed(cfg, out / "loop", client, k=3, iterations=iterations, log=log)
        rows = [r for r in res.candidates if r["source"] == "llm"]
        report["closed_loop"] = {
            "config": config_name, "k": 3, "iterations": iterations, "case": res.case,
            "best_O_per_iteration": [round(o, 5) for o in res.best_O_per_iteration],
            "iterations_until_O_stopped_improving": iterations_until_stable(res.best_O_per_iteration),
            "candidates": len(rows), "ran": sum(r["status"] == "ran" for r in rows),
            "duplicates": sum(r["status"] == "duplicate" for r in rows),
            "invalid_or_rejected": sum(r["status"] in ("invalid_output", "rejected") for r in rows),
            "wall_s": round(time.monotonic() - t1, 1), "out_dir": str(out / "loop")}
    return report
