"""LLM client faults against a tiny OpenAI-style HTTP server on 127.0.0.1 that answers
with truncated, invalid and off-schema JSON; the closed loop and the next-state
predictor fed by it run real ns-3. (The real model is in test_llm_vllm.py.)"""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from gaidt import config as configmod
from generators import closed_loop, llm_client
from generators.generation_schema import current_values, generation_schema
from generators.llm_client import LLMClient, LLMError, LLMUnreachable
from tests.helpers import REPO, chat_choice, chat_reply, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["scheduler", "buffer_bytes"],
          "properties": {"scheduler": {"enum": ["pf", "rr"]}, "buffer_bytes": {"type": "integer", "minimum": 1000}}}
GOOD = '{"scheduler":"rr","buffer_bytes":4000}'


@pytest.mark.unit
def test_truncated_invalid_and_off_schema_outputs_are_retried(fake, tmp_path):
    url, script = fake([
        chat_reply(chat_choice('{"scheduler":"rr","buf', "length"), chat_choice("{not json"),
                   chat_choice('{"scheduler":"best"}')),
        chat_reply(chat_choice(GOOD), chat_choice('{"scheduler":"pf","buffer_bytes":2000,"note":"free text"}')),
        chat_reply(chat_choice('{"scheduler":"pf","buffer_bytes":9000}')),
    ])
    audit = tmp_path / "gen.jsonl"
    client = LLMClient(url, "fake-model", audit_path=audit, max_attempts=3)
    cands = client.generate([{"role": "user", "content": "hi"}], SCHEMA, n=3)
    assert [c.valid for c in cands] == [True, True, False]
    assert cands[0].value == {"scheduler": "rr", "buffer_bytes": 4000}
    assert cands[1].value == {"scheduler": "pf", "buffer_bytes": 9000}
    assert "no valid output after 3 request(s)" in cands[2].error
    # n asked per request shrinks to what is still missing; response_format carries the schema
    assert [r["n"] for r in script.requests] == [3, 3, 2]
    rf = script.requests[0]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"] == SCHEMA
    recs = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(recs) == 6
    errors = [r["error"] for r in recs]
    assert errors[0].startswith("truncated") and errors[1].startswith("invalid JSON")
    assert errors[2].startswith("schema violation") and "unknown keys ('note' was unexpected)" in errors[4]
    assert all(r["prompt_hash"] == recs[0]["prompt_hash"] and "latency_s" in r for r in recs)
    assert recs[3]["valid"] and recs[3]["raw"] == GOOD


@pytest.mark.unit
def test_model_defaults_to_the_endpoints_first_model(fake):
    url, script = fake([chat_reply(chat_choice(GOOD))])
    client = LLMClient(url, None)
    assert client.generate([{"role": "user", "content": "x"}], SCHEMA)[0].valid
    assert client.model == "fake-model" and script.requests[0]["model"] == "fake-model"


@pytest.mark.unit
def test_broken_replies_and_server_errors_are_retried(fake):
    url, script = fake([(500, {"error": "busy"}), (200, "<html>oops"), (200, {"choices": []}), chat_reply(chat_choice(GOOD))])
    cands = LLMClient(url, "m", max_attempts=4).generate([{"role": "user", "content": "x"}], SCHEMA)
    # the HTTP 500 is retried by the openai SDK's back-off within the first attempt; the broken
    # reply and the empty one each cost an attempt
    assert cands[0].valid and cands[0].attempts == 3 and len(script.requests) == 4


@pytest.mark.unit
def test_budget_spent_gives_an_invalid_candidate_not_an_exception(fake):
    url, _ = fake([chat_reply(chat_choice('{"scheduler":"rr"}'))])
    c = LLMClient(url, "m", max_attempts=2).generate([{"role": "user", "content": "x"}], SCHEMA)[0]
    assert not c.valid and c.value is None and "field 'buffer_bytes' is missing (required)" in c.error


@pytest.mark.unit
def test_client_error_is_reported_with_the_servers_message(fake):
    url, _ = fake([(404, {"error": {"message": "The model `nope` does not exist."}})])
    with pytest.raises(LLMError, match="HTTP 404.*does not exist"):
        LLMClient(url, "nope").generate([{"role": "user", "content": "x"}], SCHEMA)


@pytest.mark.unit
def test_unreachable_endpoint_fails_fast_with_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        url = f"http://127.0.0.1:{port}/v1"
        with pytest.raises(LLMUnreachable, match=f"127.0.0.1:{port}/v1"):
            LLMClient(url, "m").generate([{"role": "user", "content": "x"}], SCHEMA)
    with pytest.raises(LLMError, match="http://"):
        LLMClient("127.0.0.1:8000", "m")


@pytest.mark.ns3
def test_generate_cli_unreachable_url_and_bad_input():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        p = subprocess.run(RUN + ["generate", str(REPO / "ns3-scenarios/examples/small.json"), "--out", "/tmp/x-unused",
                                  "--llm-url", f"http://127.0.0.1:{port}/v1", "--llm-model", "m"],
                           capture_output=True, text=True, timeout=120)
    # the base run happens first only if the endpoint is reachable; here it fails before any ns-3 run
    assert p.returncode == 1 and f"127.0.0.1:{port}/v1" in p.stderr and "Traceback" not in p.stderr
    for argv, needle in ((["generate", "/nonexistent.json", "--out", "/tmp/x"], "cannot read config"),
                         (["generate", str(REPO / "ns3-scenarios/examples/small.json"), "--out", "/tmp/x", "-k", "0"],
                          "--candidates = 0"),
                         (["llm", "serve", "--port", "70000"], "--port = 70000"),
                         (["generate"], "required")):
        p = subprocess.run(RUN + argv, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr, (argv, p.stderr)


@pytest.mark.slow
@pytest.mark.unit
def test_llm_serve_refuses_a_taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run(RUN + ["llm", "serve", "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    out = p.stdout + p.stderr
    assert f"port {port}" in out and "--port" in out and "Traceback" not in out


# ---- the closed loop with scripted model output and real ns-3
@pytest.mark.ns3
def test_closed_loop_runs_valid_candidates_and_records_the_rest(fake, tmp_path):
    base = small_config(duration_s=1.0)
    good = dict(current_values(base), scheduler="rr", association="load_balanced")
    replies = [chat_reply(chat_choice(json.dumps(good)), chat_choice('{"scheduler":"rr"'),
                          chat_choice(json.dumps(current_values(base))))]
    url, script = fake(replies)
    client = LLMClient(url, "fake-model", max_attempts=1)
    res = closed_loop.proposed(base, tmp_path, client, k=3, iterations=1, workers=2, resample=0)
    rows = res.candidates
    assert [r["status"] for r in rows] == ["ran", "ran", "duplicate", "invalid_output"], rows
    assert rows[3]["reason"].startswith("no valid output") and rows[3]["O"] is None
    assert rows[2]["O"] == rows[0]["O"]  # the base config proposed again is not run twice
    ran = rows[1]
    assert json.loads(ran["values"]) == good and 0 <= ran["O"] <= 1
    assert res.best_O == max(r["O"] for r in rows if r["O"] is not None)
    assert res.best_O_per_iteration[0] == rows[0]["O"] and len(res.best_O_per_iteration) == 2
    for f in ("candidates.csv", "best_config.json", "best_result.json", "summary.json", "generations.jsonl"):
        assert (tmp_path / f).exists(), f
    assert len((tmp_path / "generations.jsonl").read_text().splitlines()) == 3
    best = configmod.validate(json.loads((tmp_path / "best_config.json").read_text()))
    assert best["topology"] == base["topology"] and best["seed"] == base["seed"]
    # the prompt carried the schema and the base run's twin and score
    prompt = script.requests[0]["messages"][1]["content"]
    assert json.dumps(generation_schema(base), separators=(",", ":")) in prompt
    assert "Real-time twin" in prompt and "Scored settings" in prompt


@pytest.mark.ns3
def test_closed_loop_asks_again_when_the_model_repeats_a_measured_config(fake, tmp_path):
    base = small_config(duration_s=1.0)
    good = dict(current_values(base), scheduler="rr")
    url, script = fake([chat_reply(chat_choice(json.dumps(current_values(base)))), chat_reply(chat_choice(json.dumps(good)))])
    client = LLMClient(url, "fake-model", max_attempts=1)
    res = closed_loop.proposed(base, tmp_path, client, k=1, iterations=1, workers=1, resample=2)
    assert [r["status"] for r in res.candidates] == ["ran", "duplicate", "ran"]
    assert len(script.requests) == 2  # stopped asking once it had k new configs
    assert json.loads(res.candidates[2]["values"]) == good


@pytest.mark.ns3
def test_closed_loop_never_runs_more_than_k_configs_per_iteration(fake, tmp_path):
    """The failure CI once met by chance: a resample repeats a config that is new in this iteration.
    It runs once and is labelled "ran" once; the repeat is a "duplicate"."""
    base = small_config(duration_s=1.0)
    a = dict(current_values(base), scheduler="rr")
    b = dict(current_values(base), scheduler="rr", association="load_balanced")
    url, script = fake([chat_reply(chat_choice(json.dumps(a)), chat_choice(json.dumps(a))),
                        chat_reply(chat_choice(json.dumps(a))), chat_reply(chat_choice(json.dumps(b)))])
    client = LLMClient(url, "fake-model", max_attempts=1, seed=7)
    res = closed_loop.proposed(base, tmp_path, client, k=2, iterations=1, workers=2, resample=2)
    it1 = [r for r in res.candidates if r["iteration"] == 1]
    assert [r["status"] for r in it1] == ["ran", "duplicate", "duplicate", "ran"], it1
    assert len({r["run_dir"] for r in it1}) == 2  # two ns-3 runs for k = 2
    seeds = [r["seed"] for r in script.requests]
    assert all(isinstance(s_, int) for s_ in seeds) and len(set(seeds)) == 3  # seeded, a new draw per resample
    # the same calls give the same seeds: reproducible sampling
    assert seeds[0] == llm_client.request_seed(7, "iteration-1", llm_client.prompt_hash(
        script.requests[0]["messages"], script.requests[0]["response_format"]["json_schema"]["schema"]), 1)


@pytest.mark.ns3
def test_traditional_runs_the_base_config_with_random_weights(tmp_path):
    base = small_config(duration_s=1.0)
    res = closed_loop.traditional(base, tmp_path, weights_seed=3)
    assert res.best_config == base and res.case == "random"
    assert res.weights == closed_loop.prioritization.weights("random", 3)
    assert res.best_result["kpis"]["rho"] >= 0 and (tmp_path / "candidates.csv").exists()
