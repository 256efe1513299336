"""KPI prioritization p(.), the paper's eq. 1 with constraints (4)-(7).

K = {rho, d, l, alpha}: served-device share, packets on deadline, latency,
buffer (drops). A scenario's case picks the two KPIs p(.) prioritizes:

  case        condition   prioritized (x, y)
  "density"   D > D_th    (rho, d)
  "latency"   L < L_th    (l, d)
  "accuracy"  A > A_th    (rho, alpha)
  "random"    none holds  -- no prioritization: seeded random weights

Inputs and how they are obtained (scenario_inputs):
  D  number of sensors in the service area, topology.sensors. Table II lists
     the device density of the small/medium/large topologies as 50/250/1000,
     i.e. as device counts, so D is the count, not devices per m^2. With
     D_th = 50 the small topology (D = 50) is not high-density; medium and
     large are.
  L  maximum tolerable latency of the service, network.deadline_ms (for tic
     the round trip), in ms; compared with L_th = 0.9 ms.
  A  required accuracy of the service, a ratio in [0, 1]. The scenario config
     has no such field (accuracy is a requirement of the twin service, e.g.
     the synchronization scenario asks for 98%), so the caller passes it; a
     scenario without an accuracy requirement has A = 0.

Precedence when several cases hold: the order of eq. 1 (density, then
latency, then accuracy), i.e. the piecewise definition read top to bottom;
`precedence=` changes it. Thresholds default to Table I and are configurable.

Weights of a prioritized case are deterministic: the pair shares `share`
(default 0.7) equally, the other two share 1 - share equally, so (4) holds,
(6) holds for share > 0, and (7) holds iff share > 0.5. The random case draws
a Dirichlet(1,1,1,1) vector from the given seed or Generator (all > 0, sum 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KPIS = ("rho", "d", "l", "alpha")
PAIRS = {"density": ("rho", "d"), "latency": ("l", "d"), "accuracy": ("rho", "alpha")}
CASES = ("density", "latency", "accuracy", "random")
DEFAULT_PRECEDENCE = ("density", "latency", "accuracy")


@dataclass(frozen=True)
class Thresholds:
    """Table I: D_th = 50 devices, L_th = 0.9 ms, A_th = 0.97 (97%)."""
    d_th: float = 50.0
    l_th_ms: float = 0.9
    a_th: float = 0.97


@dataclass(frozen=True)
class ScenarioInputs:
    """D (devices), L (ms), A (ratio): see the module docstring."""
    D: float
    L_ms: float
    A: float = 0.0


@dataclass(frozen=True)
class Prioritization:
    """Eq. 1's outcome: the case chosen, its prioritized KPIs, the weight vector and every case that held."""
    case: str
    prioritized: tuple[str, ...]
    weights: dict = field(hash=False)
    holding: tuple[str, ...] = ()  # every case whose condition holds, in precedence order


def scenario_inputs(cfg: dict, required_accuracy: float | None = None) -> ScenarioInputs:
    """D, L and A of a resolved scenario config (A from the caller; 0 if none)."""
    a = 0.0 if required_accuracy is None else float(required_accuracy)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"required accuracy = {a}: must be a ratio in [0, 1] (e.g. 0.98 for 98%)")
    return ScenarioInputs(D=float(cfg["topology"]["sensors"]), L_ms=float(cfg["network"]["deadline_ms"]), A=a)


def holding_cases(inputs: ScenarioInputs, thresholds: Thresholds = Thresholds(),
                  precedence=DEFAULT_PRECEDENCE) -> tuple[str, ...]:
    """Every case of eq. 1 whose condition holds for the inputs (density D > D_th, latency L < L_th, accuracy A >
    A_th), in precedence order."""
    cond = {"density": inputs.D > thresholds.d_th,
            "latency": inputs.L_ms < thresholds.l_th_ms,
            "accuracy": inputs.A > thresholds.a_th}
    return tuple(c for c in precedence if cond[c])


def scenario_case(D: float, L: float, A: float = 0.0, thresholds: Thresholds = Thresholds(),
                  precedence=DEFAULT_PRECEDENCE) -> str:
    """Eq. 1's case for device count D, tolerable latency L (ms), required accuracy A."""
    _check_precedence(precedence)
    held = holding_cases(ScenarioInputs(D, L, A), thresholds, precedence)
    return held[0] if held else "random"


def _check_precedence(precedence) -> None:
    if sorted(precedence) != sorted(DEFAULT_PRECEDENCE):
        raise ValueError(f"precedence = {list(precedence)}: must order all of {list(DEFAULT_PRECEDENCE)}")


def weights(case: str, rng=None, share: float = 0.7) -> dict:
    """Weights over K for a case. Prioritized cases: see module docstring; "random": seeded draw.

    rng: a numpy Generator or an int seed (used only by the random case).
    """
    if case == "random":
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        w = gen.dirichlet(np.ones(len(KPIS)))
        w = np.maximum(w, 1e-9)  # (6) for every weight: a draw of exactly 0 is possible in floats
        w = w / w.sum()
        return {k: float(v) for k, v in zip(KPIS, w)}
    if case not in PAIRS:
        raise ValueError(f"case = {case!r}: allowed: {', '.join(CASES)}")
    if not 0.5 < share <= 1.0:
        raise ValueError(f"share = {share}: must be > 0.5 (constraint 7) and <= 1")
    pair = PAIRS[case]
    return {k: (share / 2 if k in pair else (1.0 - share) / 2) for k in KPIS}


def prioritize(inputs: ScenarioInputs, rng=None, thresholds: Thresholds = Thresholds(), share: float = 0.7,
               precedence=DEFAULT_PRECEDENCE) -> Prioritization:
    """p(.) of eq. 1: the case that wins (see precedence) and its weights."""
    _check_precedence(precedence)
    held = holding_cases(inputs, thresholds, precedence)
    case = held[0] if held else "random"
    return Prioritization(case, PAIRS.get(case, ()), weights(case, rng, share), held)


def check_constraints(w: dict, prioritized=()) -> None:
    """Raise AssertionError unless w satisfies (4), and (6)-(7) for the prioritized pair."""
    assert set(w) == set(KPIS), f"weights must cover {KPIS}"
    assert abs(sum(w.values()) - 1.0) < 1e-9, "(4) weights sum to 1"
    assert all(v >= 0 for v in w.values()), "weights are non-negative"
    for x in prioritized:
        assert w[x] > 0, f"(6) w_{x} > 0"
        for z in KPIS:
            if z not in prioritized:
                assert w[x] > w[z], f"(7) w_{x} > w_{z}"
