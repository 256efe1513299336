"""Same-conditions A/B of two scenario binaries (or two configs), alternating.

This machine's speed drifts by a quarter within an hour, so a before/after speed claim compares
binaries run alternately, one right after the other, on the same config, and reports medians. Each
run's wall s per simulated s (whole run and per phase) is printed as it ends; at the end, the
medians and whether every run gave the same per-sensor results, gateways and KPIs.

    .venv/bin/python benchmarks/ab_binaries.py --runs 6 \\
        --a before=/path/to/old/gaidt-iot-city --b after=build/ns3-scenarios/gaidt-iot-city \\
        --config resolved.json [--config-b other.json] > benchmarks/ab-....txt

`--config` is a resolved config (`run.py config resolve`, or the config.json of a run). tcmalloc is
preloaded as the runner does.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
SAME = ("sensors", "gateways", "kpis", "totals")


def _run(binary: str, config: str, out: Path) -> dict:
    env = dict(os.environ)
    if Path(TCMALLOC).exists():
        env["LD_PRELOAD"] = TCMALLOC
    subprocess.run([binary, f"--config={config}", f"--out={out}"], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
    return json.loads(out.read_text())


def _rates(result: dict) -> dict:
    run = result["run"]
    rates = {"run": run["wall_s"] / run["simulated_s"]}
    for p in run["phases"]:
        rates[p["name"]] = p["wall_s"] / (p["end_s"] - p["start_s"])
    return rates


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="NAME=BINARY")
    ap.add_argument("--b", required=True, help="NAME=BINARY")
    ap.add_argument("--config", required=True, help="resolved config for both (or for a)")
    ap.add_argument("--config-b", help="resolved config for b (default: --config)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    variants = []
    for spec, cfg in ((args.a, args.config), (args.b, args.config_b or args.config)):
        name, _, binary = spec.partition("=")
        if not binary or not Path(binary).exists():
            print(f"error: --a/--b wants NAME=BINARY with an existing binary, got {spec!r}", file=sys.stderr)
            return 2
        variants.append((name, binary, cfg))
    rates = {name: [] for name, _, _ in variants}
    reference, identical = None, True
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name, binary, cfg in variants:
                result = _run(binary, cfg, Path(tmp) / "result.json")
                r = _rates(result)
                rates[name].append(r)
                same = {k: result[k] for k in SAME}
                reference = reference or same
                identical = identical and same == reference
                print(name, f"{r['run']:.2f}", " ".join(f"{k}={v:.2f}" for k, v in r.items() if k != "run"),
                      flush=True)
    print("# medians over", args.runs, "runs each:")
    for name, rs in rates.items():
        keys = rs[0].keys()
        print("#", name, " ".join(f"{k}={statistics.median(r[k] for r in rs):.2f}" for k in keys))
    print("# identical sensors, gateways, kpis, totals in every run:", identical)
    return 0


if __name__ == "__main__":
    sys.exit(main())
