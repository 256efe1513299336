"""Scenario-3, the synchronization scenario (Fig. 3 and the right-time sync service): its config
and the seeded churn that changes the physical twin every round through bridge commands."""
from __future__ import annotations

import copy

import numpy as np

from gaidt_bridge.node_ids import sensor_id
from gaidt_bridge.subscriber import CommandClient

from . import config as configmod


def scenario3_config(topology: str, seed: int, rounds: int, period_s: float) -> dict:
    """Scenario-3's config on an example topology: mMTC, twinning rate 0.8, one round per period_s, `rounds`
    rounds."""
    cfg = copy.deepcopy(configmod.example(topology))
    cfg.update(seed=int(seed), name=f"{topology}-S3", duration_s=rounds * period_s)
    cfg["traffic"].update(service="mmtc", ul_activity=0.45, report_period_s=0.5, synchronized_periods=False,
                          payload_bytes={"min": 24, "max": 250})
    cfg["twin"].update(twinning_rate=0.8, period_s=period_s)
    cfg["sim"].update(warmup_s=0.0, drain_s=period_s / 2)  # round `rounds` falls inside the run
    return configmod.validate(cfg)


class ChurnDriver:
    """Changes the physical twin every round through bridge commands (seeded)."""

    LEAVE, JOIN, SHIFT, INITIAL_OFF = 0.05, 0.5, 0.10, 0.10

    def __init__(self, n_sensors: int, seed: int, rounds: int):
        self.n = n_sensors
        self.rng = np.random.default_rng(seed + 7919)
        self.rounds = rounds
        self.active = np.ones(n_sensors, bool)
        self.period = np.full(n_sensors, 0.5)
        self.client = None
        self.sent = 0

    def on_start(self, proc, cmd_endpoint):
        """ns3_runner's on_start hook: connect to the run's command endpoint."""
        self.client = CommandClient(cmd_endpoint, timeout_s=30)

    def _send(self, node: str, param: str, value: float) -> None:
        self.client.send_nowait("set", node=node, param=param, value=value)
        self.sent += 1

    def on_message(self, msg, sub) -> None:
        """ns3_runner's on_message hook: after each snapshot, send this round's seeded leaves, joins and period
        changes."""
        if self.client is None or msg.topic != "snap":
            return
        self.client.drain()
        k = int(msg.header["round"])
        if k >= self.rounds:
            return
        if k == 1:
            off = self.rng.choice(self.n, int(self.INITIAL_OFF * self.n), replace=False)
        else:
            on_idx = np.flatnonzero(self.active)
            off = self.rng.choice(on_idx, int(round(self.LEAVE * len(on_idx))), replace=False)
        back_idx = np.flatnonzero(~self.active)
        back = self.rng.choice(back_idx, int(round(self.JOIN * len(back_idx))), replace=False) if k > 1 else []
        for i in off:
            self._send(sensor_id(i), "active", 0)
            self.active[i] = False
        for i in back:
            self._send(sensor_id(i), "active", 1)
            self.active[i] = True
        for i in self.rng.choice(self.n, int(self.SHIFT * self.n), replace=False):
            p = float(np.clip(self.period[i] * self.rng.choice([0.5, 2.0]), 0.25, 4.0))
            self.period[i] = p
            self._send(sensor_id(i), "report_period_s", p)

    def close(self):
        """Close the command connection."""
        if self.client is not None:
            self.client.close()
