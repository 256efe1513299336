#!/usr/bin/env python3
"""GAIDT's single command line.

  run.py scenario CONFIG.json --out DIR [--quiet] [--no-bridge]
  run.py bench [sim|bridge] [--json]

Exit codes: 0 ok, 1 run failure (ns-3 crash, ...), 2 usage or config error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import config as configmod  # noqa: E402
from experiments.config import ConfigError  # noqa: E402


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors: one line, exit 2, no traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def cmd_scenario(args) -> int:
    from experiments import ns3_runner
    from experiments.live_view import ScenarioView

    cfg = configmod.load(args.config, have_nr=ns3_runner.have_nr())
    with ScenarioView(cfg, quiet=args.quiet) as view:
        outcome = ns3_runner.run_scenario(cfg, args.out, bridge=not args.no_bridge, on_message=view.on_message)
    r = outcome.result
    k = r["kpis"]
    if not args.quiet:
        print(f"{r['sensors_attached']}/{r['sensors_total']} sensors attached; goodput "
              f"{r['totals']['goodput_bps'] / 1e3:.1f} kb/s of {r['totals']['offered_bps'] / 1e3:.1f} kb/s offered; "
              f"rho={k['rho']:.3f} d={k['d']:.3f} l={k['l']:.2f} ms alpha={k['alpha']:.3f}; "
              f"wall {outcome.wall_s:.1f} s")
        print(f"wrote {Path(args.out) / 'result.json'}")
    return 0


def cmd_bench(args) -> int:
    from experiments import bench

    return bench.main(args)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="run.py", description="GAIDT: generative-AI-enabled digital twins of smart-city IoT networks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    s = sub.add_parser("scenario", help="run one scenario config with the twin bridge attached")
    s.add_argument("config", help="scenario config (JSON, ns3-scenarios/scenario.schema.json)")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--quiet", action="store_true", help="no live view")
    s.add_argument("--no-bridge", action="store_true", help="run without the twin bridge")
    s.set_defaults(func=cmd_scenario)

    b = sub.add_parser("bench", help="benchmarks (speed is measured here, never in tests)")
    b.add_argument("which", nargs="?", default="all", choices=["all", "sim", "bridge"])
    b.add_argument("--json", action="store_true", help="print JSON")
    b.add_argument("--topologies", default="small,medium,large", help="comma-separated example names")
    b.add_argument("--duration-s", type=float, default=None, help="simulated traffic seconds per run")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run.py: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 -- runtime failures: message, not traceback
        from experiments.ns3_runner import Ns3Error

        if isinstance(e, Ns3Error):
            print(f"run.py: {e}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
