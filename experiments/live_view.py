"""Terminal progress for one scenario run: a rich live view on a TTY, plain
log lines otherwise, nothing with --quiet."""
from __future__ import annotations

import sys
import time
from collections import deque

from rich.console import Console
from rich.live import Live
from rich.table import Table


class ScenarioView:
    """`run.py scenario`'s live view of a run: rounds, synced sensors and goodput (quiet: nothing)."""
    def __init__(self, cfg: dict, quiet: bool = False, console: Console | None = None):
        self.cfg = cfg
        self.quiet = quiet
        self.console = console or Console(stderr=False)
        self.tty = self.console.is_terminal and sys.stdout.isatty()
        self.live: Live | None = None
        self.t0 = time.monotonic()
        self._last_log = 0.0
        sim = cfg.get("sim", {})
        self.warmup_s = float(sim.get("warmup_s", 0.0))
        self.traffic_end_s = self.warmup_s + float(cfg["duration_s"])
        self.end_s = self.traffic_end_s + float(sim.get("drain_s", 0.0))
        # Gateways' rx_bytes change when reports arrive, about once per report period with synchronized
        # periods: a rate over one 0.1 s round is mostly 0. Average over at least one report period.
        self.window_s = max(float(cfg.get("traffic", {}).get("report_period_s", 1.0)),
                            float(cfg.get("twin", {}).get("period_s", 0.1)))
        self._samples: deque = deque()  # (sim_time_s, gateway rx_bytes), the last window_s and one before
        self._traffic_start = None  # (sim_time_s, rx_bytes) of the first round in the traffic phase
        self.throughput_bps = None  # over the last window_s (None until a whole window is seen)
        self.mean_bps = None  # since the traffic phase began (to its end): result.json's goodput when done
        self.state = {"round": 0, "sim_time_s": 0.0, "synced": 0, "sensors": cfg["topology"]["sensors"]}

    def phase(self, sim_time_s: float) -> str:
        """"warm-up" (attach, no traffic), "traffic" (the duration_s measured) or "drain" (late deliveries)."""
        if sim_time_s < self.warmup_s:
            return "warm-up"
        return "traffic" if sim_time_s <= self.traffic_end_s + 1e-9 else "drain"

    def __enter__(self):
        if not self.quiet and self.tty:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(*exc)

    def on_message(self, msg, sub) -> None:
        """ns3_runner's on_message hook: update the view from a snapshot."""
        if msg.topic != "snap":
            return
        synced = sum(len(t.index) for t in msg.tables if t.kind == "sensor")
        rx = 0.0
        for t in msg.tables:
            if t.kind == "gateway" and "rx_bytes" in t.columns:
                rx = float(t.values[:, t.columns.index("rx_bytes")].sum())
        now = float(msg.header["sim_time_s"])
        self._samples.append((now, rx))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s - 1e-9:
            self._samples.popleft()  # keep the newest sample at least window_s old
        t0, rx0 = self._samples[0]
        if now - t0 >= self.window_s - 1e-9:
            self.throughput_bps = 8 * (rx - rx0) / (now - t0)
        if self._traffic_start is None and now >= self.warmup_s:
            self._traffic_start = (now, rx)
        if self._traffic_start is not None and now <= self.traffic_end_s + 1e-9 and now > self._traffic_start[0]:
            # reports of the first round's time are already counted in the start sample: measure from the warm-up's end
            self.mean_bps = 8 * (rx - self._traffic_start[1]) / (now - self._traffic_start[0])
        self.state.update(round=msg.header["round"], sim_time_s=now, synced=synced,
                          gaps=sub.stats.gaps, bad=sub.stats.bad_frames)
        if self.quiet:
            return
        if self.live is not None:
            self.live.update(self._render())
        elif time.monotonic() - self._last_log >= 2.0:
            self._last_log = time.monotonic()
            s = self.state
            print(f"round {s['round']} sim {s['sim_time_s']:.2f}s ({self.phase(s['sim_time_s'])}) synced "
                  f"{s['synced']}/{s['sensors']} throughput {self._kbps(self.throughput_bps)} over the last "
                  f"{self.window_s:g} s, traffic mean {self._kbps(self.mean_bps)}", flush=True)

    @staticmethod
    def _kbps(bps: float | None) -> str:
        return "–" if bps is None else f"{bps / 1e3:.1f} kb/s"

    def show_result(self, result: dict) -> None:
        """Add the finished run's sensors by status (result.json kpis) to the view."""
        k = result.get("kpis", {})
        self.state["status"] = {name: k.get(f"sensors_{name}", 0) for name in ("served", "unreachable", "starved")}
        if self.live is not None:
            self.live.update(self._render())

    def _render(self) -> Table:
        s = self.state
        t = Table(title=f"GAIDT twin: {self.cfg.get('name', 'scenario')} ({self.cfg['radio']}, "
                        f"{s['sensors']} sensors / {self.cfg['topology']['gateways']} gateways)")
        status = s.get("status")
        for col in ("round", "sim time", "phase", "synced sensors", f"throughput (last {self.window_s:g} s)",
                    "traffic mean", "gaps", "wall"):
            t.add_column(col)
        if status is not None:
            t.add_column("served / unreachable / starved")
        now = s["sim_time_s"]
        # the time line: warm-up [0, warmup_s), traffic (duration_s), drain (late deliveries) up to the end
        timeline = (f"warm-up {self.warmup_s:g} s + traffic {self.traffic_end_s - self.warmup_s:g} s + drain "
                    f"{self.end_s - self.traffic_end_s:g} s")
        row = [str(s["round"]), f"{now:.2f} / {self.end_s:.2f} s", f"{self.phase(now)} ({timeline})",
               f"{s['synced']} / {s['sensors']}", self._kbps(self.throughput_bps), self._kbps(self.mean_bps),
               str(s.get("gaps", 0)), f"{time.monotonic() - self.t0:.1f} s"]
        if status is not None:
            row.append(f"{status['served']} / {status['unreachable']} / {status['starved']}")
        t.add_row(*row)
        return t
