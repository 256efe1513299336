"""Shared fixtures. ns-3 runs are real (the built scenario binary); the helpers are in tests/helpers.py.

The LLM fixtures: the embedded vLLM server, started once per test session (tests that use it are
marked `llm`; CI runs them: make test installs vLLM first), and `fake`, a scripted OpenAI-style
endpoint on 127.0.0.1 (no model) for faults and flows that need a deterministic answer.
"""
from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import small_config

TIERS = ("unit", "ns3", "llm")


def pytest_collection_modifyitems(config, items):
    """Every test carries exactly one tier (pyproject.toml's markers): a test without one, or with two,
    stops the session before anything runs, so that `-m unit` (make test-fast) misses nothing silently."""
    wrong = [f"{item.nodeid}: {[m for m in TIERS if item.get_closest_marker(m)] or 'no tier'}"
             for item in items if sum(item.get_closest_marker(m) is not None for m in TIERS) != 1]
    if wrong:
        raise pytest.UsageError("tests need exactly one tier marker of " + ", ".join(TIERS) + ":\n  "
                                + "\n  ".join(wrong))


@pytest.fixture
def small():
    return small_config


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


# ---- a scripted OpenAI-style endpoint on 127.0.0.1 (no model): for faults and for flows
# that need a deterministic answer (the real model is the vllm_server fixture above)
class Script:
    """What the fake endpoint answers: a list of replies, one per request (the last repeats)."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests: list[dict] = []


@pytest.fixture
def fake():
    servers = []

    def start(replies):
        script = Script(replies)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self._send(200, {"data": [{"id": "fake-model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                script.requests.append(body)
                item = script.replies[min(len(script.requests), len(script.replies)) - 1]
                if callable(item):
                    item = item(body)
                status, payload = item if isinstance(item, tuple) else (200, item)
                self._send(status, payload)

            def _send(self, status, payload):
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/v1", script

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
