"""The real embedded model (vLLM + SmolLM2-135M on CPU): schema validity, compiled
candidates in ns-3, the closed loop, and `run.py llm serve`'s
lifecycle. One server per session (tests/conftest.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import jsonschema
import psutil
import pytest

from gaidt.ns3_runner import run_scenario
from generators import closed_loop, llm_server
from generators import prioritization as pz
from generators.compile import compile_candidate
from generators.generation_schema import current_values, generation_schema
from generators.prompt import build_messages
from tests.helpers import REPO, small_config

pytestmark = pytest.mark.llm


def _messages(cfg, scored=None):
    prio = pz.prioritize(pz.scenario_inputs(cfg), rng=cfg["seed"])
    return build_messages(cfg, current_values(cfg), prio.case, prio.weights, generation_schema(cfg), scored=scored)


def test_every_generation_is_schema_valid(vllm_client, tmp_path):
    cfg = small_config()
    schema = generation_schema(cfg)
    scored = [{"values": current_values(cfg), "O": 0.88, "T": {k: 0.9 for k in pz.KPIS}}]
    cands = []
    for i in range(8):  # 8 requests x n=3 = 24 generations
        cands += vllm_client.generate(_messages(cfg, scored if i % 2 else None), schema, n=3)
    assert len(cands) == 24
    assert all(c.valid for c in cands), [c.error for c in cands if not c.valid]
    validator = jsonschema.Draft202012Validator(schema)
    for c in cands:
        validator.validate(c.value)
        validator.validate(json.loads(c.raw))  # the raw text itself, not only the parsed value
    recs = [json.loads(x) for x in (tmp_path / "generations.jsonl").read_text().splitlines()]
    raw_valid = sum(r["valid"] for r in recs) / len(recs)
    print(f"\n[vllm] {len(recs)} raw choices, {raw_valid:.0%} valid before retries")
    assert len(recs) >= 24 and all(r["prompt_hash"] and r["latency_s"] > 0 for r in recs)


def test_a_compiled_candidate_runs_in_ns3(vllm_client, tmp_path):
    cfg = small_config(duration_s=1.0)
    cand = vllm_client.generate(_messages(cfg), generation_schema(cfg), n=1)[0]
    assert cand.valid, cand.error
    comp = compile_candidate(cfg, cand.value)
    assert comp.ok, comp.reason
    outcome = run_scenario(comp.config, tmp_path / "run", bridge=False)
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == comp.config
    k = outcome.result["kpis"]
    assert 0 <= k["rho"] <= 1 and 0 <= k["d"] <= 1 and outcome.result["sensors_total"] == 50


def test_closed_loop_with_the_real_model(vllm_client, tmp_path):
    base = small_config(duration_s=1.0)
    res = closed_loop.proposed(base, tmp_path, vllm_client, k=2, iterations=2, workers=2, resample=2)
    rows = res.candidates
    # k candidates per iteration, plus at most 2 resample calls of up to k more when the model
    # repeats a measured config
    assert 1 + 2 * 2 <= len(rows) <= 1 + 2 * 2 * 3 and rows[0]["source"] == "base"
    for it in (1, 2):
        fresh = [r for r in rows if r["iteration"] == it and r["status"] == "ran"]
        asked = [r for r in rows if r["iteration"] == it]
        assert len(fresh) <= 2 <= len(asked)  # never more than k new runs; asked again only for repeats
        assert len({r["run_dir"] for r in fresh}) == len(fresh)  # one row per ns-3 run
    run_dirs = [d for d in tmp_path.iterdir() if d.is_dir() and d.name.startswith("it")]
    assert len(run_dirs) <= 2 * 2  # k x iterations ns-3 runs at most, whatever the model answers
    audit = [json.loads(x) for x in (tmp_path / "generations.jsonl").read_text().splitlines()]
    assert audit and all(r["prompt_hash"] and isinstance(r["extra"]["seed"], int) for r in audit)  # seeded
    assert all(r["status"] in ("ran", "duplicate") for r in rows), rows
    assert res.best_O == max(r["O"] for r in rows)
    assert res.best_O_per_iteration == sorted(res.best_O_per_iteration)  # best-so-far never drops
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"] == llm_server.model_convert.SERVED_NAME and summary["llm"]["valid"] >= 4


def test_llm_serve_starts_is_found_and_stops_without_orphans(monkeypatch):
    monkeypatch.delenv("GAIDT_LLM_URL", raising=False)
    port = llm_server.free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "experiments" / "run.py"), "llm", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        end = time.monotonic() + 600
        while time.monotonic() < end:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "serving http://127.0.0.1" in line:
                break
        assert any("serving" in ln for ln in lines), "".join(lines)
        url = f"http://127.0.0.1:{port}/v1"
        assert llm_server.healthy(url)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children  # vLLM's API server (and its engine process)
        with llm_server.endpoint() as ep:  # no URL configured: the running server is reused, none started
            assert ep.url == url and ep.server is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.pid for p in alive]
    assert not llm_server.port_taken(port) and not llm_server.healthy(url)
    assert llm_server.discovered() is None
