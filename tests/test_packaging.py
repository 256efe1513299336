"""Packaging (issue 14): the `gaidt` console script, --version, and a requires-python that is true."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO


def _gaidt() -> str:
    exe = Path(sys.executable).parent / "gaidt"
    assert exe.exists(), "the gaidt console script is missing: pip install -e . (scripts/setup.sh does it)"
    return str(exe)


def test_gaidt_console_script_has_help_and_version():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    p = subprocess.run([_gaidt(), "--version"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == f"gaidt {meta['version']}", p.stdout + p.stderr
    h = subprocess.run([_gaidt(), "--help"], capture_output=True, text=True, timeout=120)
    assert h.returncode == 0 and "fig2" in h.stdout and "scenario" in h.stdout
    # run.py keeps working with the same sub-commands
    r = subprocess.run([sys.executable, str(REPO / "experiments" / "run.py"), "--version"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and meta["version"] in r.stdout


def test_requires_python_is_true_and_extras_exist():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.11" and sys.version_info >= (3, 11)
    assert {"llm", "dask", "test"} <= set(meta["optional-dependencies"]) and meta["dependencies"]


def test_the_code_passes_ruff():
    """ruff's configuration is in pyproject.toml; the code passes it (no per-line noqa needed for style)."""
    ruff = Path(sys.executable).parent / "ruff"
    p = subprocess.run([str(ruff), "check", str(REPO)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:]
