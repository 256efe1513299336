"""Helpers the test modules share (the fixtures live in tests/conftest.py).

Config and run helpers come from gaidt.knob_runs, which the bench and the benchmark scripts use too;
what only tests need (assertions, the scripted LLM endpoint's replies) is defined here.
"""
from __future__ import annotations

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
