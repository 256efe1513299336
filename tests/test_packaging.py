"""Packaging (issue 14): the `gaidt` console script, --version, and a requires-python that is true."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import REPO


def _gaidt() -> str:
    exe = Path(sys.executable).parent / "gaidt"
    assert exe.exists(), "the gaidt console script is missing: pip install -e . (scripts/setup.sh does it)"
    return str(exe)


@pytest.mark.ns3
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


@pytest.mark.unit
def test_requires_python_is_true_and_extras_exist():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.11" and sys.version_info >= (3, 11)
    assert {"llm", "dask", "test"} <= set(meta["optional-dependencies"]) and meta["dependencies"]


@pytest.mark.unit
def test_the_code_passes_ruff():
    """ruff's configuration is in pyproject.toml; the code passes it (no per-line noqa needed for style)."""
    ruff = Path(sys.executable).parent / "ruff"
    p = subprocess.run([str(ruff), "check", str(REPO)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:]


@pytest.mark.unit
def test_the_cpp_follows_ns3s_clang_format_style():
    """.clang-format holds ns-3's style settings; every C++ file of the bridge and the scenarios passes it
    (clang-format from the PyPI wheel pinned in requirements.txt and the test extra)."""
    exe = Path(sys.executable).parent / "clang-format"
    assert exe.exists(), "clang-format is missing: pip install -r requirements.txt (scripts/setup.sh does it)"
    files = sorted(str(f) for d in ("gaidt_bridge", "ns3-scenarios") for ext in ("*.cc", "*.h")
                   for f in (REPO / d).rglob(ext))
    assert len(files) >= 20 and (REPO / ".clang-format").exists()
    p = subprocess.run([str(exe), "--dry-run", "--Werror", f"--style=file:{REPO / '.clang-format'}", *files],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"run clang-format -i on these: {p.stderr[-3000:]}"
