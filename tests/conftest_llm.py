"""LLM fixtures: the embedded vLLM server, started once per test session.

Imported by tests/conftest.py so that the session fixture has a single definition.
Tests that use it are marked `llm`; CI runs them (make test installs vLLM first).
"""
from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """The embedded SmolLM2-135M server on 127.0.0.1 (one per session, stopped at the end)."""
    from generators.llm_server import EmbeddedServer

    if importlib.util.find_spec("vllm") is None:
        pytest.fail("vLLM is not installed: run `GAIDT_WITH_LLM=1 bash scripts/setup.sh` "
                    "(or deselect these tests with -m 'not llm')", pytrace=False)
    server = EmbeddedServer(log_path=tmp_path_factory.mktemp("vllm") / "server.log")
    server.start()
    print(f"\n[vllm] embedded server up in {server.startup_s:.1f} s at {server.url}")
    yield server
    server.stop()


@pytest.fixture
def vllm_client(vllm_server, tmp_path):
    """An LLMClient on the session's server, auditing to tmp_path/generations.jsonl."""
    from generators.llm_client import LLMClient

    return LLMClient(vllm_server.url, vllm_server.served_name, audit_path=tmp_path / "generations.jsonl")
