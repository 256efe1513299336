"""Nothing lost, nothing silent (issue 28): what JSON should not carry is refused with one line naming
the field; a config name becomes a safe run id; a twin that received nothing fails the run; a full
disk is one line and leaves no half-written file."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gaidt import config as configmod
from gaidt.errors import RunError
from gaidt.ns3_runner import _RUN_ID, check_endpoint, default_run_id, run_scenario
from gaidt_bridge import subscriber as subscriber_mod
from tests.helpers import REPO, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]
MAX_LINE = 400  # a refused input is told in one line no longer than this


def _example() -> dict:
    return json.loads((REPO / "ns3-scenarios" / "examples" / "small.json").read_text())


def _resolve(tmp_path, data: bytes) -> subprocess.CompletedProcess:
    path = tmp_path / "cfg.json"
    path.write_bytes(data)
    return subprocess.run(RUN + ["config", "resolve", str(path)], capture_output=True, timeout=120)


CASES = {  # name -> (file bytes, what the one line must name)
    "nan": (json.dumps(dict(_example(), duration_s=float("nan"))).encode(), "duration_s"),
    "infinity": (json.dumps(dict(_example(), seed=float("inf"))).encode(), "seed"),
    "minus_infinity": (b'{"name": "a", "traffic": {"ul_activity": -Infinity}}', "traffic.ul_activity"),
    "utf16": (json.dumps(_example()).encode("utf-16"), "UTF-8"),
    "latin1": ('{"name": "café"}'.encode("latin-1"), "UTF-8"),
    "deep_array": (b"[" * 100_000 + b"]" * 100_000, "nested"),
    "deep_object": (b'{"a":' * 40 + b"1" + b"}" * 40, "nested"),
    "long_name": (json.dumps(dict(_example(), name="n" * 300)).encode(), "name"),
    "huge_file": (json.dumps(dict(_example(), name="n" * 10_000_000)).encode(), "bytes"),
    "huge_unknown_key": (json.dumps(dict(_example(), **{"k" * 100_000: 1})).encode(), "characters"),
    "many_unknown_keys": (json.dumps(dict(_example(), **{f"k{i}": 1 for i in range(20_000)})).encode(),
                          "unknown keys"),
}


@pytest.mark.ns3
@pytest.mark.parametrize("case", sorted(CASES))
def test_config_resolve_refuses_what_json_should_not_carry_in_one_line(tmp_path, case):
    data, named = CASES[case]
    p = _resolve(tmp_path, data)
    err = p.stderr.decode()
    assert p.returncode == 2 and p.stdout == b"", err[:500]
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and len(err) <= MAX_LINE, err[:500]
    assert named in err


@pytest.mark.unit
def test_nan_is_refused_by_validate_too_not_only_by_the_file_reader():
    with pytest.raises(configmod.ConfigError, match="'traffic.ul_activity' = nan"):
        configmod.validate(dict(_example(), traffic={"ul_activity": float("nan")}))


@pytest.mark.unit
@pytest.mark.parametrize("name", ["my run", "", "  ", "ünïcödé/../../x", "n" * 256, "a\nb", "-.-"])
def test_a_default_run_id_is_always_a_valid_run_id(name):
    rid = default_run_id({"name": name, "seed": 4294967295})
    assert _RUN_ID.match(rid) and rid.endswith("-4294967295-" + rid[-8:]) and len(rid) <= 64


@pytest.mark.unit
def test_localhost_endpoints_resolve_at_parse_time_and_other_hosts_are_refused():
    assert check_endpoint("--bridge-pub", "tcp://localhost:5555") == "tcp://127.0.0.1:5555"
    with pytest.raises(configmod.ConfigError, match="--bridge-pub"):
        check_endpoint("--bridge-pub", "tcp://example.org:5555")


@pytest.mark.ns3
def test_a_config_name_with_a_space_keeps_its_whole_twin(tmp_path):
    cfg = small_config(name="my run", duration_s=1.0)
    outcome = run_scenario(cfg, tmp_path / "run")
    b, twin = outcome.result["bridge"], outcome.result["twin"]
    assert b["run_id"].startswith("my_run-1-")
    assert twin["snapshots"] == b["rounds"] > 0


@pytest.mark.ns3
def test_a_twin_that_receives_nothing_fails_the_run(tmp_path, monkeypatch):
    """Fault injection (a subscriber that follows another run id: the mismatch the sanitised ids now
    prevent): ns-3 publishes, the twin drops everything, and the run must not pass for a good one."""
    class Deaf(subscriber_mod.Subscriber):
        def __init__(self, *a, **kw):
            super().__init__(*a, **dict(kw, run_id="another-run"))

    monkeypatch.setattr("gaidt.ns3_runner.Subscriber", Deaf)
    with pytest.raises(RunError, match=r"received none of them \(\d+ dropped as another run's"):
        run_scenario(small_config(duration_s=1.0), tmp_path / "run")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs (a real full disk); skipped where mounting is not allowed."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if p.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.ns3
def test_a_full_disk_during_a_run_is_one_line_exit_1_and_leaves_no_half_written_file(tmp_path, tiny_disk):
    (tmp_path / "cfg.json").write_text(json.dumps(small_config(duration_s=3.0)))
    out = tiny_disk / "run"
    p = subprocess.run(RUN + ["scenario", str(tmp_path / "cfg.json"), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    lines = [ln for ln in p.stderr.strip().splitlines() if not ln.startswith("run.py: bridge ")]
    assert p.returncode == 1 and len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "full" in lines[0] or "No space" in lines[0]
    assert not [f.name for f in out.iterdir() if ".tmp" in f.name]  # no temporary file left behind
    for name in ("config.json", "result.json", "twin.dtdl.json"):
        if (out / name).exists():
            json.loads((out / name).read_text())  # whole, or absent
