"""`run.py generate` speaks (issue 29): its summary counts the proposals that repeated a measured config,
says whether a new config beat the base, and lists every file it wrote. Real ns-3 runs; the model is a
scripted OpenAI-style endpoint (tests/conftest.py) so that the proposals are known."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from gaidt.folder_lock import LOCK_NAME
from tests.helpers import REPO, middle_of_every_range

pytestmark = pytest.mark.ns3

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


def test_generate_counts_repeats_says_whether_the_base_was_beaten_and_lists_its_files(tmp_path, fake):
    url, script = fake([middle_of_every_range])
    out = tmp_path / "gen"
    p = subprocess.run(RUN + ["generate", str(REPO / "ns3-scenarios/examples/small.json"), "--out", str(out),
                              "-k", "2", "--iterations", "1", "--duration-s", "1", "--llm-url", url,
                              "--llm-model", "fake-model"], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "starting the embedded model" not in p.stderr  # an endpoint was given: nothing to start
    # k=2 asks for two; the second repeats the first, and the two re-asks (resample=2) repeat it again
    assert "[generate] 4 proposals: 3 repeated a measured config (0 the base), 0 unusable, 1 new configs measured" \
        in p.stdout, p.stdout
    cands = pd.read_csv(out / "candidates.csv")
    base_O = cands[cands.source == "base"].O.iloc[0]
    new_O = cands[(cands.iteration == 1) & (cands.status == "ran")].O.iloc[0]
    if new_O > base_O:
        assert f"1 of 1 new configs beat the base: best O={new_O:.4f} vs base O={base_O:.4f}" in p.stdout
    else:
        assert f"none of the 1 new configs beat the base (O={base_O:.4f}); the best is the base" in p.stdout
    written = {line.split("wrote ", 1)[1].split(" ")[0] for line in p.stdout.splitlines() if "] wrote " in line}
    # every file but the folder's writer lock (gaidt.folder_lock), which is bookkeeping, not output
    on_disk = {str(f) + ("/" if f.is_dir() else "") for f in out.iterdir() if f.name != LOCK_NAME}
    assert written == on_disk and {str(out / n) for n in ("candidates.csv", "best_config.json", "best_result.json",
                                                          "summary.json", "generations.jsonl")} <= written
    assert {str(out / "base") + "/", str(out / "it1-c0") + "/"} <= written
