"""Usage errors get one line and exit 2, before any run is spent (issue 14)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import REPO, source_modules

pytestmark = pytest.mark.unit

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["fig2", "--methods", "traditional", "--quiet"], ["fig3", "--no-llm", "--quiet"],
                                  ["generate", str(REPO / "ns3-scenarios" / "examples" / "small.json")],
                                  ["scenario", str(REPO / "ns3-scenarios" / "examples" / "small.json"), "--quiet"]])
def test_an_out_folder_under_a_plain_file_is_a_usage_error(tmp_path, argv):
    plain = tmp_path / "plain"
    plain.write_text("not a folder")
    p = subprocess.run(RUN + argv + ["--out", str(plain / "x")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "--out" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.slow
@pytest.mark.parametrize("figure", ["fig2", "fig3"])
def test_a_dead_llm_endpoint_is_one_line_before_any_run(tmp_path, figure):
    p = subprocess.run(RUN + [figure, "--profile", "tiny", "--out", str(tmp_path), "--quiet",
                              "--llm-url", "http://127.0.0.1:9/v1"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "http://127.0.0.1:9/v1" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # no run was spent
    if (tmp_path / "campaign.sqlite").exists():
        with sqlite3.connect(tmp_path / "campaign.sqlite") as c:
            assert c.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0


def test_every_public_error_joins_the_one_hierarchy():
    """Each public exception class of the packages is a GaidtError, so the CLI reports it once with its exit
    code (2: usage/config, 1: failed run); the old bases stay (callers catching ValueError still work)."""
    import importlib
    import inspect

    from gaidt.errors import GaidtError

    found = {}
    for name in source_modules(("gaidt_bridge", "gaidt", "generators", "services", "experiments")):
        mod = importlib.import_module(name)
        for name, cls in inspect.getmembers(mod, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == mod.__name__ and not name.startswith("_"):
                found[f"{mod.__name__}.{name}"] = cls
    assert len(found) >= 14, sorted(found)
    outside = sorted(n for n, c in found.items() if not issubclass(c, GaidtError))
    assert not outside, outside
    codes = {n.rsplit(".", 1)[1]: c.exit_code for n, c in found.items()}
    assert codes["ConfigError"] == codes["BuildMismatch"] == codes["RoadGraphError"] == codes["ExploreError"] == 2
    assert codes["Ns3Error"] == codes["LLMError"] == codes["LLMServerError"] == codes["BridgeError"] == 1
    from gaidt.config import ConfigError

    assert issubclass(ConfigError, ValueError)


@pytest.mark.slow
def test_usage_error_from_a_library_is_one_line_exit_2():
    p = subprocess.run(RUN + ["bench", "knob", "--set", "nofield"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.strip().splitlines() == ["run.py bench: --set 'nofield': expected FIELD=VALUE[,VALUE...]"]


@pytest.mark.slow
def test_errors_are_prefixed_with_the_name_the_user_typed():
    """Installed as the `gaidt` console script, errors say `gaidt`, not `run.py`."""
    code = "import sys; sys.argv[0] = 'gaidt'; from experiments.run import main; sys.exit(main())"
    p = subprocess.run([sys.executable, "-c", code, "bench", "knob", "--set", "nofield"], capture_output=True,
                       text=True, timeout=120, cwd=REPO)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().splitlines() == ["gaidt bench: --set 'nofield': expected FIELD=VALUE[,VALUE...]"]
