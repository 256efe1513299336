"""Helpers the test modules share (the fixtures live in tests/conftest.py).

Config and run helpers come from gaidt.knob_runs, which the bench and the benchmark scripts use too;
what only tests need (assertions, the scripted LLM endpoint's replies) is defined here.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from gaidt.knob_runs import run_each, set_field, small_config

__all__ = ["REPO", "RESULT_SECTIONS", "assert_same_run", "chat_choice", "chat_reply", "run_each", "set_field",
           "small_config", "source_modules"]

REPO = Path(__file__).resolve().parent.parent

RESULT_SECTIONS = ("totals", "kpis", "power", "random_access", "sensors", "gateways", "throughput_series")


def assert_same_run(a: dict, b: dict) -> None:
    """Two result.json of one config, bit for bit: the same events and every result section (for
    speed knobs that must not change what is simulated)."""
    assert a["run"]["events"] == b["run"]["events"]
    for section in RESULT_SECTIONS:
        assert a[section] == b[section], section


def chat_choice(content, finish="stop"):
    """One choice of an OpenAI chat-completions reply."""
    return {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}


def chat_reply(*choices):
    """An OpenAI chat-completions reply body with these choices (for the `fake` endpoint)."""
    return {"choices": list(choices), "usage": {"prompt_tokens": 10, "completion_tokens": 7 * len(choices)}}


def source_modules(packages) -> dict[str, Path]:
    """{dotted module name: file} of every .py file of these first-party packages, subpackages included
    (experiments.fig2.plan, ...)."""
    out = {}
    for pkg in packages:
        for f in sorted((REPO / pkg).rglob("*.py")):
            parts = f.relative_to(REPO).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def middle_of_every_range(body):
    """A scripted "model" (for the `fake` fixture): each generatable field at the middle of its range
    (enums: the second value), so every proposal is the same config."""
    schema = body["response_format"]["json_schema"]["schema"]
    obj = {}
    for name, sub in schema["properties"].items():
        if "enum" in sub:
            obj[name] = sub["enum"][min(1, len(sub["enum"]) - 1)]
        else:
            mid = (sub["minimum"] + sub["maximum"]) / 2
            obj[name] = int(mid) if sub["type"] == "integer" else mid
    return chat_reply(chat_choice(json.dumps(obj)))


def ns3_pid(out, wait_s: float = 60.0) -> int:
    """The pid of the scenario binary writing into `out` (a child of run.py), waiting up to wait_s."""
    deadline = time.monotonic() + wait_s
    while True:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if cmdline[0].endswith(b"gaidt-iot-city") and f"--config={out}/config.json".encode() in cmdline:
                return int(pid)
        if time.monotonic() >= deadline:
            raise AssertionError("the scenario binary is not running")
        time.sleep(0.1)
