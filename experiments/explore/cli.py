"""`run.py explore`: check the arguments, load the run or attach to the live one, serve it."""

import sys

from .live import LiveRun
from .run_data import ExploreError, RunData
from .web_app import LOOPBACK, serve


def cli(args) -> int:
    """`run.py explore`: parse, load, serve. Returns the exit code (2: usage/input error)."""
    host = args.host
    if host not in LOOPBACK and not args.token:
        raise ExploreError(f"--host = {host!r}: binding beyond loopback needs --token T "
                           "(a secret of at least 16 characters)")
    if args.token is not None and len(args.token) < 16:
        raise ExploreError("--token: at least 16 characters")
    if not 0 <= args.port <= 65535:
        raise ExploreError(f"--port = {args.port}: must be 0..65535 (0: a free port)")
    source = None
    try:
        if args.live:
            if args.dir is not None:
                raise ExploreError(f"DIR = {args.dir!r}: not used with --live (the run is read from the bridge)")
            if not args.bridge_pub or not args.bridge_cmd:
                raise ExploreError("--live: needs --bridge-pub ENDPOINT and --bridge-cmd ENDPOINT")
            source = LiveRun(args.bridge_pub, args.bridge_cmd)
        else:
            if args.dir is None:
                raise ExploreError("DIR: give a finished run's folder, or --live with the bridge endpoints")
            if args.bridge_pub or args.bridge_cmd:
                raise ExploreError("--bridge-pub/--bridge-cmd: only with --live")
            source = RunData(args.dir)
        try:  # after the arguments are checked: importing them takes a while
            import fastapi  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError as e:
            raise ExploreError(f"needs fastapi and uvicorn ({e.name} missing); install the vLLM extra: "
                               "`make llm-setup` (requirements-llm.txt brings both)") from None
        if isinstance(source, LiveRun):
            source.start()

        def ready(url: str) -> None:
            what = f"live run at {args.bridge_pub}" if args.live else f"run {args.dir}"
            if getattr(source, "missing", None):
                print(f"explore: {args.dir} lacks {', '.join(source.missing)}; showing the rest "
                      "(run.py record writes all three for your own scenario)", file=sys.stderr, flush=True)
            print(f"Twin Explorer ({what}): {url}  (Ctrl-C to stop)", flush=True)

        serve(source, host=host, port=args.port, token=args.token, on_ready=ready)
    finally:
        if isinstance(source, LiveRun):
            source.close()
    return 0
