"""TIC (tiny instant communication): a learner that paces each gateway's requests.

Input    the real-time twin during a run (TwinGraph, updated every twinning
         round): per sensor attached_gateway, tx_packets, tx_bytes, rx_packets,
         late_packets, in_flight_packets.
Action   per gateway, every `interval_s` of simulated time: the pacing of its
         sensors' requests, report_period_s = base period x m with m in
         PACING = (1, 2, 4), sent through the bridge's set-commands (applied by
         ns-3 at the next twinning round). m = 1 serves the demand as it comes.
         ns-3 offers no runtime MAC scheduler, priority or deadline setting
         (network.scheduler and network.deadline_ms are fixed for a run), so the
         request schedule of a gateway's sensors is the scheduling knob the
         bridge can turn; gateway tx_power_dbm only helps when coverage is
         short, which the example topologies are not.
Reward   per gateway and interval, from the twin's counter deltas of its
         sensors over the interval after a settling time (settle_s: the
         previous pacing's queue drains), per sensor-second: on-time
         deliveries (rx - late: UL within network.deadline_ms) minus losses
         (sent - delivered - still in flight). The twin sees the UL leg only;
         the metrics below are the round trip.
         Counts, not ratios: a ratio reward is maximized by sending nothing,
         a count reward only by delivering more requests on time.
Metrics  from ns-3's result (ground truth, TIC round trip): on-time ratio
         (responses within the deadline / requests sent, the `d` KPI), loss
         ratio (1 - responses / requests) and on-time responses per
         sensor-second, for the learned policy, the fixed policy (m = 1) and,
         as a hand-set constant, m = 2 everywhere.

Learner: a contextual bandit, tabular, epsilon-greedy (untried arms first).
Context: the gateway's demanded UL load (kb/s, bucketed on a log scale),
estimated from the twin as the observed send rate x the current pacing m, so
the context does not depend on the action taken. Why a bandit and not
Q-learning: the reward is measured after the settling time, when the backlog
the previous pacing left has drained, so an interval's action does not shape
the next interval's measured state: no delayed reward is left to propagate,
and Q-learning with discount 0 is this bandit. (Without the settling time a
paced interval leaves an empty queue that flatters the next unpaced one, and
a learner credits the unpaced action with it.)

Training happens in scenario twins: variants of the base config with the
generator's fields changed (generators.compile, the generator's vocabulary;
seeded perturbations, or an LLM's candidates when a client is given) in
the base's city (same seed), under demands of several payload sizes; the
learned table is then applied frozen (greedy) to the base scenario. The
paper's what-if point: learn in the twin, not on the live network.
"""
from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.plotting import pyplot
from gaidt_bridge.subscriber import CommandClient
from generators import prioritization
from generators.compile import compile_candidate
from generators.generation_schema import current_values, generation_schema
from generators.prompt import build_messages

from .twin_data import TwinDataError, require_graph

PACING = (1, 2, 4)
LOAD_EDGES_KBPS = (250.0, 500.0, 1000.0, 2000.0)  # context buckets of demanded UL load per gateway
SENSOR_ATTRS = ("attached_gateway", "tx_packets", "tx_bytes", "rx_packets", "late_packets", "in_flight_packets")


class ContextualBandit:
    """Tabular epsilon-greedy contextual bandit with incremental mean rewards.

    select(ctx) explores (untried arms first, then epsilon-random) when
    explore=True, else exploits; an unseen context borrows the nearest seen one
    (contexts are ordered bucket indices), and with nothing seen it returns
    `default`.
    """

    def __init__(self, actions, epsilon: float = 0.2, seed: int = 0, default=None):
        self.actions = list(actions)
        self.epsilon = float(epsilon)
        self.rng = np.random.default_rng(seed)
        self.default = self.actions[0] if default is None else default
        self.n: dict = {}  # ctx -> np.array of counts per action
        self.mean: dict = {}  # ctx -> np.array of mean rewards

    def _row(self, ctx):
        if ctx not in self.n:
            self.n[ctx] = np.zeros(len(self.actions))
            self.mean[ctx] = np.zeros(len(self.actions))
        return self.n[ctx], self.mean[ctx]

    def select(self, ctx, explore: bool = True):
        """The pacing for context ctx: untried actions first, then epsilon-greedy (explore), else the greedy one."""
        if explore:
            n, _ = self._row(ctx)
            untried = np.flatnonzero(n == 0)
            if len(untried):
                return self.actions[int(self.rng.choice(untried))]
            if self.rng.random() < self.epsilon:
                return self.actions[int(self.rng.integers(len(self.actions)))]
        return self.greedy(ctx)

    def greedy(self, ctx):
        """The best action seen for ctx (or the nearest context seen; the default when nothing was)."""
        seen = [c for c, n in self.n.items() if n.sum() > 0]
        if not seen:
            return self.default
        c = ctx if ctx in seen else min(seen, key=lambda s: (abs(s - ctx), s))
        n, m = self.n[c], self.mean[c]
        score = np.where(n > 0, m, -np.inf)
        return self.actions[int(np.argmax(score))]

    def update(self, ctx, action, reward: float) -> None:
        """Record reward for action in context ctx (running mean)."""
        n, m = self._row(ctx)
        a = self.actions.index(action)
        n[a] += 1
        m[a] += (reward - m[a]) / n[a]

    def table(self) -> list[dict]:
        """The learnt table: per context, counts and mean reward per action."""
        return [{"context": c, **{f"n_x{a}": int(self.n[c][i]) for i, a in enumerate(self.actions)},
                 **{f"mean_x{a}": float(self.mean[c][i]) for i, a in enumerate(self.actions)}}
                for c in sorted(self.n)]

    def copy(self) -> "ContextualBandit":
        """An independent copy (counts and means)."""
        b = ContextualBandit(self.actions, self.epsilon, 0, self.default)
        b.n = {c: v.copy() for c, v in self.n.items()}
        b.mean = {c: v.copy() for c, v in self.mean.items()}
        return b


def load_bucket(kbps: float) -> int:
    """The context of an offered load (kbit/s): its bucket among LOAD_EDGES_KBPS."""
    return int(np.searchsorted(LOAD_EDGES_KBPS, kbps, side="right"))


def gateway_counters(graph) -> dict:
    """gateway index -> summed last-known counters of its sensors (and their count)."""
    require_graph(graph, "tic", sensor_attrs=SENSOR_ATTRS, need_gateways=False)
    agg: dict[int, dict] = {}
    for node in graph.sensors():
        g = int(graph.value(node, "attached_gateway"))
        if g < 0:
            continue
        a = agg.setdefault(g, {"sensors": [], "tx": 0.0, "tx_bytes": 0.0, "rx": 0.0, "late": 0.0, "in_flight": 0.0})
        a["sensors"].append(node)
        a["tx"] += graph.value(node, "tx_packets")
        a["tx_bytes"] += graph.value(node, "tx_bytes")
        a["rx"] += graph.value(node, "rx_packets")
        a["late"] += graph.value(node, "late_packets")
        a["in_flight"] += graph.value(node, "in_flight_packets")
    return agg


def interval_reward(prev: dict, now: dict, dt_s: float) -> tuple[float, float]:
    """(reward per sensor-second, observed UL kb/s) of one gateway between two counter snapshots."""
    n = max(1, len(now["sensors"]))
    on_time = (now["rx"] - now["late"]) - (prev["rx"] - prev["late"])
    lost = (now["tx"] - now["rx"] - now["in_flight"]) - (prev["tx"] - prev["rx"] - prev["in_flight"])
    kbps = 8.0 * (now["tx_bytes"] - prev["tx_bytes"]) / dt_s / 1e3
    return (on_time - lost) / (n * dt_s), kbps


class PacingDriver:
    """Drives one run: per gateway, every interval_s, one sample (context, pacing, reward) and a new pacing.

    An interval starts with a decision; its first settle_s let the previous
    pacing's queued packets drain, and the reward and the context are measured
    over the rest (from the twin's counters at its first round after the
    settling time to its first round at the interval's end).
    mode "train": the bandit learns (explores); "apply": greedy, frozen;
    "fixed": always `fixed_m` (no commands when fixed_m = 1).
    """

    def __init__(self, bandit: ContextualBandit | None, base_period_s: float, warmup_s: float,
                 interval_s: float = 1.0, settle_s: float = 0.5, mode: str = "apply", fixed_m: int = 1):
        if mode not in ("train", "apply", "fixed"):
            raise ValueError(f"mode = {mode!r}: allowed: train, apply, fixed")
        if mode != "fixed" and bandit is None:
            raise ValueError(f"mode {mode!r} needs a bandit")
        if not 0 <= settle_s < interval_s:
            raise ValueError(f"settle_s = {settle_s}: must be >= 0 and < interval_s ({interval_s})")
        self.bandit, self.mode, self.fixed_m = bandit, mode, fixed_m
        self.base_period_s = base_period_s
        self.interval_s, self.settle_s = interval_s, settle_s
        self.settle_at = warmup_s + settle_s
        self.next_t = warmup_s + interval_s
        self.client = None
        self.m: dict[int, int] = {}  # gateway -> pacing in effect
        self.start: dict[int, dict] | None = None  # counters when the measurement window opened
        self.start_t = 0.0
        self.log: list[dict] = []  # one row per gateway and interval
        self.commands = 0

    def on_start(self, proc, cmd_endpoint):
        """ns3_runner's on_start hook: connect to the run's command endpoint."""
        self.client = CommandClient(cmd_endpoint, timeout_s=30)

    def _send(self, node: str, param: str, value: float) -> None:
        self.client.send_nowait("set", node=node, param=param, value=value)
        self.commands += 1

    def _choose(self, ctx: int | None) -> int:
        if self.mode == "fixed":
            return self.fixed_m
        if ctx is None:
            return 1
        return self.bandit.select(ctx, explore=self.mode == "train")

    def on_message(self, msg, sub) -> None:
        """ns3_runner's on_message hook: at each decision time, reward the last pacing and set the next."""
        if msg.topic != "snap":
            return
        if self.client is not None:
            self.client.drain()
        t = float(msg.header["sim_time_s"])
        if self.start is None and t + 1e-9 >= self.settle_at and t + 1e-9 < self.next_t:
            self.start, self.start_t = gateway_counters(sub.graph), t
            return
        if t + 1e-9 < self.next_t:
            return
        now = gateway_counters(sub.graph)
        for g, cur in sorted(now.items()):
            m = self.m.get(g, 1)
            ctx = None
            if self.start is not None and g in self.start and t > self.start_t:
                reward, kbps = interval_reward(self.start[g], cur, t - self.start_t)
                ctx = load_bucket(kbps * m)  # demanded load: what m = 1 would send
                if self.mode == "train":
                    self.bandit.update(ctx, m, reward)
                self.log.append({"sim_time_s": t, "gateway": g, "context": ctx, "pacing": m, "reward": reward,
                                 "observed_kbps": kbps})
            new_m = self._choose(ctx)
            if new_m != m and self.client is not None:
                for node in cur["sensors"]:
                    self._send(node, "report_period_s", round(self.base_period_s * new_m, 6))
            self.m[g] = new_m
        self.start = None
        self.settle_at = t + self.settle_s
        self.next_t = t + self.interval_s

    def close(self):
        """Close the command connection."""
        if self.client is not None:
            self.client.close()


# ---------------------------------------------------------------- scenarios

def base_config(topology: str = "small", seed: int = 1, duration_s: float = 8.0, payload_max_bytes: int = 600,
                report_period_s: float = 0.025) -> dict:
    """The TIC scenario on an example topology: tic service, 70% UL activity (the paper's highest
    level), requests of 24..payload_max_bytes every report_period_s, random phases. The defaults
    (600 B every 25 ms) overload the small topology's LTE-M cells (the "stress" case of
    run.py services); payload_max_bytes=240 does not (its "light" case)."""
    cfg = copy.deepcopy(configmod.example(topology))
    cfg.update(seed=int(seed), duration_s=float(duration_s), name=f"{topology}-tic")
    cfg["traffic"].update(service="tic", ul_activity=0.7, payload_bytes={"min": 24, "max": int(payload_max_bytes)},
                          report_period_s=report_period_s, access_spread_s=min(report_period_s, 0.01),
                          synchronized_periods=False)
    return configmod.validate(cfg)


def _perturbed_candidate(schema: dict, current: dict, rng: np.random.Generator) -> dict:
    """A plausible what-if variant of the current values: each enum keeps its value with
    probability 1/2 (else a uniform other choice); dBm fields move by N(0, 3 dB); other numbers
    are scaled by a log-normal factor (sigma 0.7); everything clipped into the schema's range."""
    cand = {}
    for key, sub in schema["properties"].items():
        cur = current[key]
        if "enum" in sub:
            cand[key] = cur if rng.random() < 0.5 else sub["enum"][int(rng.integers(len(sub["enum"])))]
            continue
        lo = sub.get("minimum", sub.get("exclusiveMinimum", 0.0))
        hi = sub.get("maximum", float("inf"))
        v = cur + rng.normal(0, 3.0) if key.endswith("_dbm") else max(cur, 1e-3) * math.exp(rng.normal(0, 0.7))
        v = min(max(v, lo), hi)
        cand[key] = int(round(v)) if sub.get("type") == "integer" else float(v)
    return cand


def scenario_variants(base_cfg: dict, n: int, seed: int, client=None, fields=None) -> list[dict]:
    """n scenario twins of base_cfg: the generator's fields varied (seeded perturbations of the
    base values, or the LLM's candidates when `client` is an LLMClient). The city stays the
    base's (same seed: placement and demand), as for the generator's candidates. Candidates the
    generator's compiler rejects are replaced by seeded perturbations. Names end in llmN or twinN
    (the source)."""
    rng = np.random.default_rng(seed)
    schema = generation_schema(base_cfg, fields, describe=client is not None)
    current = current_values(base_cfg, fields)
    pool: list[dict] = []
    if client is not None:
        prio = prioritization.prioritize(prioritization.scenario_inputs(base_cfg), rng=seed)
        msgs = build_messages(base_cfg, current, prio.case, prio.weights, schema)
        pool = [c.value for c in client.generate(msgs, schema, n=n, name="tic_twin", purpose="tic-training")
                if c.valid]
    variants, tries = [], 0
    while len(variants) < n:
        tries += 1
        if tries > 50 * n:
            raise RuntimeError(f"could not compile {n} scenario variants of {base_cfg.get('name')}")
        source = "llm" if pool else "twin"
        cand = pool.pop(0) if pool else _perturbed_candidate(schema, current, rng)
        comp = compile_candidate(base_cfg, cand, name_suffix=f"{source}{len(variants)}", fields=fields)
        if comp.ok:
            variants.append(comp.config)
    return variants


# ---------------------------------------------------------------- runs

def run_with_driver(cfg: dict, out_dir: str | Path, driver: PacingDriver):
    """Run cfg with the bridge and driver steering it; the driver is closed afterwards."""
    try:
        return ns3_runner.run_scenario(cfg, out_dir, bridge=True, on_start=driver.on_start,
                                       on_message=driver.on_message)
    finally:
        driver.close()


def result_metrics(result: dict) -> dict:
    """TIC metrics from ns-3's result (ground truth; round trip)."""
    s = result["sensors"]
    tx = sum(x["tx_packets"] for x in s)
    resp = sum(x.get("responses", 0) for x in s)
    on_time = sum(x.get("on_time_responses", 0) for x in s)
    n, dur = result["sensors_total"], result["duration_s"]
    return {"requests": tx, "responses": resp, "on_time_responses": on_time,
            "on_time_ratio": on_time / tx if tx else math.nan,
            "loss_ratio": 1.0 - resp / tx if tx else math.nan,
            "on_time_per_sensor_s": on_time / (n * dur)}


@dataclass
class Training:
    """A trained bandit and, per training twin, its name, seed, values and mean reward."""
    bandit: ContextualBandit
    runs: list[dict] = field(default_factory=list)  # per training twin: name, seed, values, mean reward


def train(base_cfg: dict, out_dir: str | Path, n_twins: int = 4, payload_scales=(0.4, 1.0), seed: int = 7,
          interval_s: float = 1.0, settle_s: float = 0.5, epsilon: float = 0.2, workers: int = 2, client=None,
          on_run=None) -> Training:
    """Train the bandit in n_twins generated scenario twins per payload scale (see module docstring).

    Twins run `workers` at a time, each with a copy of the table learned so far; their experience
    is merged after each batch. on_run(name) is called after each twin.
    """
    out = Path(out_dir)
    twins = []
    for j, scale in enumerate(payload_scales):
        b = copy.deepcopy(base_cfg)
        pmax = max(b["traffic"]["payload_bytes"]["min"], int(round(b["traffic"]["payload_bytes"]["max"] * scale)))
        b["traffic"]["payload_bytes"]["max"] = pmax
        b = configmod.validate(b)
        twins += scenario_variants(b, n_twins, seed + 1000 * j, client)
    bandit = ContextualBandit(PACING, epsilon=epsilon, seed=seed)
    training = Training(bandit)
    period = float(base_cfg["traffic"]["report_period_s"])
    for start in range(0, len(twins), max(1, workers)):
        batch = twins[start:start + max(1, workers)]
        drivers = []
        for i, cfg in enumerate(batch):
            learner = bandit.copy()
            learner.rng = np.random.default_rng(seed * 7919 + start + i)
            drivers.append(PacingDriver(learner, period, cfg["sim"]["warmup_s"], interval_s, settle_s, mode="train"))
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            futs = [pool.submit(run_with_driver, cfg, out / f"twin-{start + i}", d)
                    for i, (cfg, d) in enumerate(zip(batch, drivers))]
            errors = []
            for f in futs:
                try:
                    f.result()
                    errors.append(None)
                except ns3_runner.Ns3Error as e:  # a twin that fails to run teaches nothing; say so
                    errors.append(str(e).splitlines()[0][:200])
        for cfg, d, err in zip(batch, drivers, errors):
            if err is not None:
                training.runs.append({"name": cfg["name"], "seed": cfg["seed"], "values": current_values(cfg),
                                      "failed": err})
                continue
            for r in d.log:  # the twin's experience (its log rows are exactly its updates)
                bandit.update(r["context"], r["pacing"], r["reward"])
            rewards = [r["reward"] for r in d.log]
            training.runs.append({"name": cfg["name"], "seed": cfg["seed"], "values": current_values(cfg),
                                  "payload_max_bytes": cfg["traffic"]["payload_bytes"]["max"],
                                  "intervals": len(rewards),
                                  "mean_reward": float(np.mean(rewards)) if rewards else math.nan})
        if on_run:
            for cfg in batch:
                on_run(cfg["name"])
    return training


def evaluate(cfg: dict, out_dir: str | Path, bandit: ContextualBandit | None, interval_s: float = 1.0,
             settle_s: float = 0.5, fixed_m: int = 1) -> dict:
    """One run of cfg under the learned policy (bandit) or the fixed policy m = fixed_m (bandit None)."""
    mode = "fixed" if bandit is None else "apply"
    driver = PacingDriver(bandit, float(cfg["traffic"]["report_period_s"]), cfg["sim"]["warmup_s"], interval_s,
                          settle_s, mode=mode, fixed_m=fixed_m)
    outcome = run_with_driver(cfg, out_dir, driver)
    if not driver.log:
        raise TwinDataError("tic: the twin gave no complete control interval (run longer than "
                            f"warmup + interval = {cfg['sim']['warmup_s'] + interval_s:g} s)")
    m = result_metrics(outcome.result)
    pacing = [r["pacing"] for r in driver.log]
    m.update(twin_reward=float(np.mean([r["reward"] for r in driver.log])),
             mean_pacing=float(np.mean(pacing)), commands=driver.commands)
    return m


def plot(df, path: Path) -> None:
    """TIC's figure (on-time ratio, loss ratio, on-time per sensor-second per scenario and variant) to path."""
    plt = pyplot()

    d = df[df.service == "tic"]
    scen = sorted(d.scenario.dropna().unique())
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, metric, label in zip(axes, ("on_time_ratio", "loss_ratio", "on_time_per_sensor_s"),
                                 ("on-time ratio (round trip)", "loss ratio", "on-time responses / sensor / s")):
        policies = [p for p in ("fixed", "fixed-x2", "learned") if p in set(d.variant)]
        width = 0.8 / len(policies)
        colors = {"fixed": "#999999", "fixed-x2": "#c7c7c7", "learned": "#1f77b4"}
        for j, policy in enumerate(policies):
            vals = [d[(d.scenario == s) & (d.variant == policy)][metric].mean() for s in scen]
            errs = [d[(d.scenario == s) & (d.variant == policy)][metric].std() for s in scen]
            ax.bar(np.arange(len(scen)) + (j - (len(policies) - 1) / 2) * width, vals, width,
                   yerr=np.nan_to_num(errs), label=policy, color=colors[policy], edgecolor="#555555")
        ax.set_xticks(np.arange(len(scen)))
        ax.set_xticklabels(scen, fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=8)
    fig.suptitle("TIC: bandit request pacing (trained in scenario twins) vs fixed policies; "
                 "error bars: std over seeds", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
