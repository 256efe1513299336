#!/usr/bin/env python3
"""GAIDT's single command line.

  run.py scenario CONFIG.json --out DIR [--quiet] [--no-bridge]
         [--bridge-pub ENDPOINT] [--bridge-cmd ENDPOINT] [--bridge-hold [--bridge-hold-timeout-s S]] [--run-id ID]
  run.py config resolve CONFIG.json
  run.py bench [sim|bridge|llm|fig|goals|knob|explore] [--json] [--with-fig] [--fig-profile default|full]
  run.py generate CONFIG.json --out DIR [-k K] [--iterations N] [--llm-url URL]
  run.py llm serve [--port P]
  run.py fig2 [--full] --out DIR [--scheduler tcp://HOST:8786]
  run.py fig3 [--full] --out DIR [--scheduler tcp://HOST:8786]
  run.py services --out DIR [--topologies small] [--seeds 1 2] [--quiet]
  run.py explore DIR [--port P] | explore --live --bridge-pub EP --bridge-cmd EP [--port P]
  run.py record --bridge-pub EP [--bridge-cmd EP] --out DIR [--hello-timeout-s S] [--idle-timeout-s S]

Exit codes: 0 ok, 1 run failure (ns-3 crash, hung or stopped ns-3, full disk, ...), 2 usage or config error.
An --out folder has one writer at a time (DIR/.gaidt-lock, gaidt/folder_lock.py): a second is refused (exit 2).
Installed (pip install -e .), the same command is `gaidt` (`gaidt --version`).
"""
from __future__ import annotations

import argparse
import json
import math
import sqlite3
import sys
import time
from pathlib import Path

# Kept on purpose: `python experiments/run.py` puts experiments/ (not the checkout) first on sys.path, so
# without this line the script would import whatever `experiments` package is installed (another
# checkout's editable install, several worktrees sharing one venv) or none. It makes the script run
# the checkout it sits in; the installed `gaidt` command does not need it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from experiments import bench, explore, fig2, fig3
from experiments.live_view import ScenarioView
from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.campaign import locked_out_dir
from gaidt.errors import GaidtError, UsageError
from gaidt.lifetime import graceful_signals
from gaidt.record import record
from generators import bench_llm, closed_loop, llm_server
from services import cli


def version() -> str:
    """The installed gaidt distribution's version (pyproject.toml), or "unknown" from a bare checkout."""
    from importlib import metadata

    try:
        return metadata.version("gaidt")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def finite_float(text: str) -> float:
    """An argparse type: a finite number (``inf``, ``nan`` and ``1e400`` are refused with one line)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a finite number")
    return value


class Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line and exit 2."""
    def error(self, message):  # usage errors: one line, exit 2, no traceback
        """Print one error line on stderr (pointing at --help for the usage), exit 2."""
        message = " ".join(message.split())
        if len(message) > 400:
            message = message[:397] + "..."
        print(f"{self.prog}: error: {message} (usage: {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def cmd_scenario(args) -> int:
    """`run.py scenario CONFIG --out DIR`: one run with the twin bridge and a live view."""
    cfg = configmod.load(args.config, have_nr=ns3_runner.have_nr())
    with locked_out_dir(args.out, "scenario"):  # a folder nobody else writes; a usage error before ns-3 starts
        return _run_scenario(args, cfg)


def _run_scenario(args, cfg: dict) -> int:
    """cmd_scenario's run, with the folder locked."""
    def announce(info: dict) -> None:  # one parseable line; PROTOCOL.md, "Attaching to a run"
        hold = f" hold_timeout_s={info['hold_timeout_s']:g}" if info["held"] else ""
        print(f"run.py: bridge pub={info['pub']} cmd={info['cmd']} run_id={info['run_id']} "
              f"held={'true' if info['held'] else 'false'}{hold}", file=sys.stderr, flush=True)

    with ScenarioView(cfg, quiet=args.quiet) as view:
        outcome = ns3_runner.run_scenario(
            cfg, args.out, bridge=not args.no_bridge, on_message=view.on_message, on_bridge=announce,
            pub_endpoint=args.bridge_pub, cmd_endpoint=args.bridge_cmd, hold=args.bridge_hold,
            hold_timeout_s=args.bridge_hold_timeout_s, run_id=args.run_id)
        view.show_result(outcome.result)
    r = outcome.result
    k = r["kpis"]
    if not args.quiet:
        print(f"{r['sensors_attached']}/{r['sensors_total']} sensors attached; goodput "
              f"{r['totals']['goodput_bps'] / 1e3:.1f} kb/s of {r['totals']['offered_bps'] / 1e3:.1f} kb/s offered; "
              f"rho={k['rho']:.3f} d={k['d']:.3f} l={k['l']:.2f} ms alpha={k['alpha']:.3f}; "
              f"sensors served {k['sensors_served']} unreachable {k['sensors_unreachable']} "
              f"starved {k['sensors_starved']}; power {r['power']['mode']}: battery life "
              f"{k['battery_life_years']:.3g} years ({r['power']['battery_wh']:g} Wh at this run's mean power); "
              f"wall {outcome.wall_s:.1f} s")
        print(f"wrote {Path(args.out) / 'result.json'}")
    return 0


def cmd_config_resolve(args) -> int:
    """`run.py config resolve CONFIG`: print the resolved config the binary takes."""
    cfg = configmod.load(args.config, have_nr=ns3_runner.have_nr())
    print(ns3_runner.config_text(cfg))
    return 0


def cmd_bench(args) -> int:
    """`run.py bench ...`: run the benchmarks, print JSON (--json) or tables; progress on stderr."""
    if args.which == "llm":
        topology = (args.topologies or "small").split(",")[0]
        rep = bench_llm.run(args.llm_url, args.llm_model, args.llm_api_key, generations=args.generations,
                            config_name=topology, iterations=args.iterations,
                            log=None if args.json else (lambda m: print(f"[bench llm] {m}", flush=True)))
        _print_lines([json.dumps(rep, indent=1)] if args.json else [f"{k}: {json.dumps(v)}" for k, v in rep.items()])
        return 0
    console = Console(stderr=True)
    report = bench.run_bench(
        args.which, topologies=args.topologies.split(","), duration_s=args.duration_s, knob=args.set,
        from_json=args.from_json, with_fig=args.with_fig, fig_profile=args.fig_profile, fig_workers=args.fig_workers,
        fig_out=args.fig_out, overhead_runs=args.overhead_runs, llm_url=args.llm_url, llm_model=args.llm_model,
        llm_api_key=args.llm_api_key, progress=lambda msg: console.print(f"[dim]bench[/dim] {msg}", highlight=False),
        repeat=args.repeat, variants=[v for v in args.variants.split(",") if v])
    if args.json:  # stdout holds only the JSON; progress went to stderr
        print(json.dumps(report, indent=1))
    else:
        bench.render(report, console)
    return 0


def cmd_generate(args) -> int:
    """`run.py generate CONFIG --out DIR`: the closed loop (generators.closed_loop.proposed) on one config."""
    cfg = configmod.load(args.config, have_nr=ns3_runner.have_nr())
    if args.duration_s is not None:
        cfg = configmod.validate(dict(cfg, duration_s=args.duration_s))
    for name, v, lo in (("--candidates", args.candidates, 1), ("--iterations", args.iterations, 0)):
        if v < lo:
            raise UsageError(f"{name} = {v}: must be >= {lo}")
    if args.required_accuracy is not None and not 0 <= args.required_accuracy <= 1:
        raise UsageError(f"--required-accuracy = {args.required_accuracy}: must be a ratio in [0, 1]")
    with locked_out_dir(args.out, "generate") as out:
        return _generate(args, cfg, out)


def _generate(args, cfg: dict, out: Path) -> int:
    """cmd_generate's closed loop, with the folder locked."""
    say = lambda m: print(f"[generate] {m}", flush=True)
    t_start = time.time()
    embedded = llm_server.model_if_embedded(args.llm_url, args.llm_model)
    if embedded is not None:  # the server takes about a minute to start on CPU: say so before the wait
        print(f"[generate] starting the embedded model (about a minute): {embedded}", file=sys.stderr, flush=True)
    with closed_loop.llm_session(args.llm_url, args.llm_model, args.llm_api_key,
                                 audit_path=out / "generations.jsonl") as client:
        say(f"LLM {client.model} at {client.base_url}")
        res = closed_loop.proposed(cfg, out, client, k=args.candidates, iterations=args.iterations,
                                   required_accuracy=args.required_accuracy, weights_seed=args.weights_seed,
                                   workers=args.workers, log=say)
    say("best O per iteration: " + " ".join(f"{o:.4f}" for o in res.best_O_per_iteration))
    c = closed_loop.proposal_counts(res)
    say(f"{c['proposals']} proposals: {c['repeated']} repeated a measured config ({c['repeated_base']} the base), "
        f"{c['unusable']} unusable, {c['new_configs']} new configs measured")
    if c["new_configs"] == 0:
        say(f"no new config was measured; the best is the base (O={c['base_O']:.4f})")
    elif c["better_than_base"]:
        say(f"{c['better_than_base']} of {c['new_configs']} new configs beat the base: best O={c['best_O']:.4f} "
            f"vs base O={c['base_O']:.4f}")
    else:
        say(f"none of the {c['new_configs']} new configs beat the base (O={c['base_O']:.4f}); the best is the base")
    for p in sorted(out.iterdir()):  # every file and run folder this command wrote
        if p.stat().st_mtime >= t_start - 1 and not p.name.startswith("."):
            say(f"wrote {p}{'/ (an ns-3 run folder)' if p.is_dir() else ''}")
    return 0


def cmd_llm_serve(args) -> int:
    """`run.py llm serve`: serve the embedded model until Ctrl-C."""
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port = {args.port}: must be 1..65535")
    return llm_server.serve(port=args.port, max_model_len=args.max_model_len, log=lambda m: print(m, flush=True))


def _profile(args) -> str:
    """--full, else the hidden --profile, else "default"."""
    return "full" if args.full else (args.profile or "default")


def _print_lines(lines: list[str]) -> None:
    print("\n".join(lines), flush=True)


def cmd_fig2(args) -> int:
    """`run.py fig2`: the Fig. 2 campaign; prints its report."""
    with locked_out_dir(args.out, "fig2"):
        outcome = fig2.run_fig2(fig2.Fig2Options(
            out=args.out, profile=_profile(args), topologies=args.topologies, methods=args.methods,
            scheduler=args.scheduler, workers=args.workers, quiet=args.quiet, llm_url=args.llm_url,
            llm_model=args.llm_model, llm_api_key=args.llm_api_key, allow_other_build=args.allow_other_build))
    _print_lines(fig2.report_lines(outcome))
    return outcome.exit_code


def cmd_fig3(args) -> int:
    """`run.py fig3`: the Fig. 3 campaign; prints its report."""
    with locked_out_dir(args.out, "fig3"):
        outcome = fig3.run_fig3(fig3.Fig3Options(
            out=args.out, profile=_profile(args), no_llm=args.no_llm, scheduler=args.scheduler,
            workers=args.workers, quiet=args.quiet, llm_url=args.llm_url, llm_model=args.llm_model,
            llm_api_key=args.llm_api_key, allow_other_build=args.allow_other_build))
    _print_lines(fig3.report_lines(outcome))
    return outcome.exit_code


def cmd_services(args) -> int:
    """`run.py services`: the Twin Service Layer's campaign; prints its summary unless --quiet."""
    with locked_out_dir(args.out, "services"):
        outcome = cli.run_services(args.out, topologies=args.topologies.split(","), seeds=args.seeds,
                                   only=args.only, road_graph=args.road_graph, workers=args.workers,
                                   quiet=args.quiet, llm_url=args.llm_url, llm_model=args.llm_model,
                                   llm_api_key=args.llm_api_key)
    if not args.quiet:
        _print_lines(cli.report_lines(outcome))
    return 0


def cmd_explore(args) -> int:
    """`run.py explore`: the Twin Explorer page of a run (or a live one)."""
    return explore.cli(args)


def cmd_record(args) -> int:
    """`run.py record --bridge-pub EP --out DIR`: record any publisher's run into DIR (gaidt.record)."""
    console = Console(stderr=True)
    shown = {"round": -1}

    def progress(msg, sub) -> None:  # one line per second of wall time at most, on stderr
        st = sub.stats
        if msg.topic == "hello":
            console.print(f"[dim]record[/dim] run {msg.run_id}: {msg.header.get('rounds')} rounds of "
                          f"{msg.header.get('period_s')} s" + (" (held: resuming)" if msg.header.get("held") else ""),
                          highlight=False)
        elif msg.topic == "snap" and time.monotonic() - shown.get("t", 0.0) >= 1.0:
            shown["t"] = time.monotonic()
            console.print(f"[dim]record[/dim] round {msg.header['round']} at {msg.header['sim_time_s']:g} s "
                          f"({st.snapshots} snapshots, {st.gaps} gaps)", highlight=False)

    def waiting() -> None:
        console.print(f"[dim]record[/dim] waiting for {args.bridge_pub} (at most {args.hello_timeout_s:g} s)",
                      highlight=False)

    outcome = record(args.bridge_pub, args.bridge_cmd, args.out, hello_timeout_s=args.hello_timeout_s,
                     idle_timeout_s=args.idle_timeout_s, progress=progress, on_wait=waiting)
    r = outcome.result
    tw = r["twin"]
    print(f"recorded run {r['run_id']} ({r['status']}): {tw['snapshots']} snapshots, {tw['gaps']} gaps, "
          f"{len(r['sensors'])} sensors, {len(r['gateways'])} gateways in {outcome.wall_s:.1f} s")
    for f in outcome.files:
        print(f"wrote {f}")
    return 0


def add_campaign_args(p) -> None:
    """The options every figure campaign takes (--out, --full, executor, --quiet, --allow-other-build)."""
    p.add_argument("--out", required=True, help="output directory (campaign database, CSV, PNG)")
    p.add_argument("--full", action="store_true", help="paper-grade profile (>= 5 seeds, longer runs)")
    p.add_argument("--profile", choices=["default", "full", "tiny"], default=None, help=argparse.SUPPRESS)
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                   help="Dask distributed scheduler (default: a local process pool over all cores)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    p.add_argument("--quiet", action="store_true", help="no dashboard")
    p.add_argument("--allow-other-build", action="store_true",
                   help="resume a campaign whose results came from another build of the scenario binary "
                        "(refused by default; the mix is recorded)")


def add_llm_args(p) -> None:
    """The LLM endpoint options (--llm-url, --llm-model, --llm-api-key)."""
    g = p.add_argument_group("LLM endpoint (default: GAIDT_LLM_* env, a running `llm serve`, else the embedded model)")
    g.add_argument("--llm-url", default=None, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--llm-model", default=None, help="model name at that endpoint (default: its first model)")
    g.add_argument("--llm-api-key", default=None, help="API key (default: GAIDT_LLM_API_KEY)")


def build_parser() -> argparse.ArgumentParser:
    """The command line: every sub-command and its options."""
    p = Parser(prog=Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "run.py",
               description="GAIDT: generative-AI-enabled digital twins of smart-city IoT networks")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    s = sub.add_parser("scenario", help="run one scenario config with the twin bridge attached")
    s.add_argument("config", help="scenario config (JSON, ns3-scenarios/scenario.schema.json)")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--quiet", action="store_true", help="no live view")
    s.add_argument("--no-bridge", action="store_true", help="run without the twin bridge")
    s.add_argument("--bridge-pub", default=None, metavar="ENDPOINT",
                   help="bind the snapshot (XPUB) socket here: tcp://127.0.0.1:PORT or ipc:///PATH "
                        "(default: a private ipc path); announced on stderr and in DIR/result.json")
    s.add_argument("--bridge-cmd", default=None, metavar="ENDPOINT",
                   help="bind the command (ROUTER) socket here (same forms as --bridge-pub)")
    s.add_argument("--bridge-hold", action="store_true",
                   help="start paused at round 0 until a client sends resume (gaidt_bridge/PROTOCOL.md)")
    s.add_argument("--bridge-hold-timeout-s", type=finite_float, default=300.0, metavar="S",
                   help="wall seconds a --bridge-hold waits for resume, then starts anyway (default 300)")
    s.add_argument("--run-id", default=None, help="run id carried by every bridge message "
                   "(default: NAME-SEED-<random>)")
    s.set_defaults(func=cmd_scenario)

    c = sub.add_parser("config", help="scenario configs")
    csub = c.add_subparsers(dest="config_command", metavar="ACTION", parser_class=Parser)
    csub.required = True
    cr = csub.add_parser("resolve", help="print the fully resolved config (defaults filled) that the "
                                         "scenario binary takes (--config=FILE)")
    cr.add_argument("config", help="scenario config (JSON, ns3-scenarios/scenario.schema.json)")
    cr.set_defaults(func=cmd_config_resolve)

    b = sub.add_parser("bench", help="benchmarks (speed is measured here, never in tests)")
    b.add_argument("which", nargs="?", default="all", choices=["all", "sim", "bridge", "llm", "fig", "goals", "knob",
                                                            "explore"])
    b.add_argument("--json", action="store_true",
                   help="print JSON (one object; its 'goals' list: issue 7's speed goals)")
    b.add_argument("--with-fig", action="store_true", help="all: include fig (a whole Fig. 2 campaign; minutes)")
    b.add_argument("--fig-profile", choices=["default", "full", "tiny"], default="default",
                   help="fig: the fig2 profile to time (default: default)")
    b.add_argument("--fig-workers", type=int, default=None, help="fig: fig2 --workers (default: cores)")
    b.add_argument("--set", default=None, metavar="FIELD=V1,V2",
                   help="knob: a config field and the values to compare, e.g. sim.max_loss_db=145,0 "
                        "(first topology of --topologies)")
    b.add_argument("--from", dest="from_json", nargs="+", default=None, metavar="JSON",
                   help="goals: recompute the goals table from saved `bench --json` outputs (no runs)")
    b.add_argument("--fig-out", default=None,
                   help="fig: keep the campaign's outputs in this folder (default: a temporary one); "
                        "an existing campaign there resumes, so time a fresh folder")
    b.add_argument("--overhead-runs", type=int, default=8,
                   help="fig: small-topology runs for the campaign-layer vs process-pool check (default 8)")
    b.add_argument("--topologies", default="small,medium,large", help="comma-separated example names")
    b.add_argument("--duration-s", type=finite_float, default=None, help="simulated traffic seconds per run")
    b.add_argument("--repeat", type=int, default=1,
                   help="sim: runs per variant, round-robin; each variant reports its median run and "
                        "every run's wall s per simulated s (default 1)")
    b.add_argument("--variants", default="stock,fast,power_saving",
                   help="sim: comma-separated variants to run, fast included (default: all three)")
    b.add_argument("--generations", type=int, default=24, help="llm: schema-constrained generations to time")
    b.add_argument("--iterations", type=int, default=4, help="llm: closed-loop iterations on the small topology")
    add_llm_args(b)
    b.set_defaults(func=cmd_bench)

    g = sub.add_parser("generate", help="closed loop: KPI weights -> LLM candidates -> ns-3 -> objective O")
    g.add_argument("config", help="base scenario config (JSON)")
    g.add_argument("--out", required=True, help="output directory")
    g.add_argument("-k", "--candidates", type=int, default=3, help="candidates per iteration (default 3)")
    g.add_argument("--iterations", type=int, default=2, help="iterations N (default 2)")
    g.add_argument("--required-accuracy", type=finite_float, default=None,
                   help="A of eq. 1: the service's required accuracy as a ratio (e.g. 0.98); default none")
    g.add_argument("--weights-seed", type=int, default=None, help="seed of random-case weights (default: config seed)")
    g.add_argument("--duration-s", type=finite_float, default=None, help="override the config's duration_s")
    g.add_argument("--workers", type=int, default=None, help="parallel ns-3 runs (default: cores)")
    add_llm_args(g)
    g.set_defaults(func=cmd_generate)

    f2 = sub.add_parser("fig2", help="reproduce Fig. 2: throughput stability, traditional vs the GAI loop "
                                     "and equal-budget baselines (random, rule, tpe)")
    add_campaign_args(f2)
    f2.add_argument("--methods", nargs="+", choices=["traditional", "proposed", "random", "rule", "tpe"],
                    default=None, help="methods to run (default: all; traditional always runs, as the reference)")
    f2.add_argument("--topologies", nargs="+", choices=["small", "medium", "large"], default=None,
                    help="topologies to run (default: the profile's; a later run with the others resumes "
                         "into the same --out)")
    add_llm_args(f2)
    f2.set_defaults(func=cmd_fig2)

    f3 = sub.add_parser("fig3", help="reproduce Fig. 3 as a forecast: the twin's accuracy 1 and 3 rounds ahead "
                                     "over 12 twinning rounds (H, H+R, H+R+GAI; last, linear, ridge, llm, generator)")
    add_campaign_args(f3)
    f3.add_argument("--no-llm", action="store_true",
                    help="no model calls: no llm rows, and the generator equals H+R ridge")
    add_llm_args(f3)
    f3.set_defaults(func=cmd_fig3)

    sv = sub.add_parser("services", help="Twin Service Layer: mMTC, TIC (RL), right-time sync, truck routing (SVM)")
    sv.add_argument("--out", required=True, help="output directory (services.csv, one PNG per service, runs/)")
    sv.add_argument("--topologies", default="small", help="comma-separated example names (default: small)")
    sv.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="scenario seeds (default: 1 2)")
    sv.add_argument("--only", nargs="+", choices=["mmtc", "sync", "ptr", "tic"], default=None,
                    help="services to run (default: all)")
    sv.add_argument("--road-graph", default=None, metavar="FILE.graphml",
                    help="PTR road graph (GraphML, node x/y in m); default: a 100 m street grid over the city")
    sv.add_argument("--workers", type=int, default=None, help="parallel ns-3 runs (default: cores)")
    sv.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sv.add_argument("--llm-url", default=None, help="TIC: an OpenAI-compatible endpoint generates the training "
                    "twins (default: seeded variations of the generator's fields, no LLM)")
    sv.add_argument("--llm-model", default=None, help="model name at --llm-url (default: its first model)")
    sv.add_argument("--llm-api-key", default=None, help="API key for --llm-url")
    sv.set_defaults(func=cmd_services)

    ex = sub.add_parser("explore", help="Twin Explorer: a local web page to see a run's twin (or a live one)")
    ex.add_argument("dir", nargs="?", default=None, metavar="DIR",
                    help="a run's folder from `scenario --out DIR` or `record --out DIR` (result.json, "
                         "history.sqlite, twin.dtdl.json; a folder lacking some is shown with what it has)")
    ex.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed)")
    ex.add_argument("--live", action="store_true", help="attach to a running simulation's bridge instead of DIR")
    ex.add_argument("--bridge-pub", default=None, metavar="ENDPOINT", help="live: the bridge's PUB endpoint")
    ex.add_argument("--bridge-cmd", default=None, metavar="ENDPOINT", help="live: the bridge's command endpoint")
    ex.add_argument("--host", default="127.0.0.1",
                    help="address to bind (default 127.0.0.1); any other needs --token")
    ex.add_argument("--token", default=None, help="secret required on every API request (>= 16 characters)")
    ex.set_defaults(func=cmd_explore)

    rc = sub.add_parser("record", help="record any publisher's run (a Python or C++ ns-3 program on the twin "
                                       "bridge) into DIR so that `explore DIR` works on it")
    rc.add_argument("--bridge-pub", required=True, metavar="ENDPOINT",
                    help="the publisher's snapshot endpoint (tcp://HOST:PORT or ipc:///PATH)")
    rc.add_argument("--bridge-cmd", default=None, metavar="ENDPOINT",
                    help="its command endpoint; needed to resume a run started with --bridge-hold")
    rc.add_argument("--out", required=True, help="output directory (history.sqlite, twin.dtdl.json, result.json)")
    rc.add_argument("--hello-timeout-s", type=float, default=180.0, metavar="S",
                    help="wall seconds to wait for the first message (default 180: a Python scenario first "
                         "imports ns-3, about 30 s or more)")
    rc.add_argument("--idle-timeout-s", type=float, default=60.0, metavar="S",
                    help="wall seconds without a message after which the run counts as failed (default 60)")
    rc.set_defaults(func=cmd_record)

    lp = sub.add_parser("llm", help="the embedded open model (vLLM)")
    lsub = lp.add_subparsers(dest="llm_command", metavar="ACTION", parser_class=Parser)
    lsub.required = True
    ls = lsub.add_parser("serve", help="serve SmolLM2-135M-Instruct with vLLM on 127.0.0.1 until Ctrl-C")
    ls.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    ls.add_argument("--max-model-len", type=int, default=2048, help="context length in tokens (default 2048)")
    ls.set_defaults(func=cmd_llm_serve)
    return p


MAX_ERROR_CHARS = 2000


def say(prefix: str, message: str, one_line: bool = True) -> None:
    """An error on stderr: ``prefix: message``, as one line (usage errors) and at most MAX_ERROR_CHARS long."""
    if one_line:
        message = " ".join(message.split())
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS - 40] + f"... ({len(message)} characters, cut)"
    print(f"{prefix}: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed run, 2 usage or config error, 130
    interrupted)."""
    graceful_signals()  # SIGTERM/SIGHUP unwind like Ctrl-C: children are stopped, temp folders removed
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GaidtError as e:  # every error a user can act on: one line, its exit code (gaidt.errors)
        say(f"{parser.prog} {args.command}", str(e), one_line=e.exit_code == 2)  # "run.py", or "gaidt"
        return e.exit_code
    except OSError as e:  # a full disk, a folder removed under a run: a fault of the run, not a traceback
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        say(f"{parser.prog} {args.command}", f"{e.strerror or e}{where}")
        return 1
    except sqlite3.Error as e:  # a store that cannot be written (full disk, damaged file)
        say(f"{parser.prog} {args.command}", f"database error: {e}")
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130

if __name__ == "__main__":
    sys.exit(main())
