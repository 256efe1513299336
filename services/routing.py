"""Truck routing over a city road graph: the graph, and a capacitated VRP heuristic.

Road graph (networkx): nodes carry `x`, `y` (m), edges `length_m` (m).
  street_grid(area_m, block_m)   a Manhattan street grid over the city square
  load_road_graph(path)          a GraphML export (e.g. from OpenStreetMap via osmnx):
                                 node attributes x, y; edge length from `length_m`,
                                 else `length`, else the straight line between the ends.
A graph trucks cannot drive around (not connected; directed and not strongly
connected) is rejected with RoadGraphError naming the components.

CVRP heuristic: nearest neighbour with capacity, then 2-opt on each route.
  Construction: a truck leaves the depot and always drives to the nearest
  unvisited bin whose load still fits; when none fits it returns to the depot
  and a new route starts. 2-opt then reverses route segments while that
  shortens the route (first improvement, until no move improves). Distances are
  shortest-path lengths over the road graph (Dijkstra), so a route's length is
  the distance driven on streets. For points in convex position with straight
  line distances, 2-opt's local optimum (no crossing edges) is the optimal tour.
"""
from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np

from gaidt.errors import UsageError


class RoadGraphError(UsageError, ValueError):
    """A road graph that trucks cannot use; the message says why."""


def street_grid(area_m: float, block_m: float = 100.0) -> nx.Graph:
    """Streets every block_m over [0, area_m]^2 (both ends included); nodes 0..n-1."""
    if area_m <= 0 or block_m <= 0:
        raise RoadGraphError(f"street grid needs area_m > 0 and block_m > 0 (got {area_m}, {block_m})")
    k = max(1, int(math.ceil(area_m / block_m)))
    step = area_m / k
    g = nx.Graph(name=f"street grid {area_m:g} m, {k}x{k} blocks")
    for i in range(k + 1):
        for j in range(k + 1):
            g.add_node(i * (k + 1) + j, x=i * step, y=j * step)
    for i in range(k + 1):
        for j in range(k + 1):
            n = i * (k + 1) + j
            if i < k:
                g.add_edge(n, n + k + 1, length_m=step)
            if j < k:
                g.add_edge(n, n + 1, length_m=step)
    return g


def _as_float(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RoadGraphError(f"{what} = {value!r} is not a number") from None


def load_road_graph(path: str | Path) -> nx.Graph:
    """Read a GraphML road graph, normalize attributes, check it is usable (see module docstring)."""
    p = Path(path)
    try:
        raw = nx.read_graphml(p)
    except FileNotFoundError:
        raise RoadGraphError(f"road graph file {p} does not exist") from None
    except Exception as e:  # noqa: BLE001 -- a malformed file: say which and why
        raise RoadGraphError(f"road graph file {p} is not readable GraphML: {e}") from None
    g = nx.DiGraph() if raw.is_directed() else nx.Graph()
    g.graph["name"] = str(p)
    for n, d in raw.nodes(data=True):
        if "x" not in d or "y" not in d:
            raise RoadGraphError(f"road graph {p}: node {n!r} has no 'x'/'y' attributes (positions, m)")
        g.add_node(n, x=_as_float(d["x"], f"road graph {p}: node {n!r} x"),
                   y=_as_float(d["y"], f"road graph {p}: node {n!r} y"))
    for u, v, d in raw.edges(data=True):
        if "length_m" in d:
            length = _as_float(d["length_m"], f"road graph {p}: edge {u!r}-{v!r} length_m")
        elif "length" in d:
            length = _as_float(d["length"], f"road graph {p}: edge {u!r}-{v!r} length")
        else:
            length = math.dist((g.nodes[u]["x"], g.nodes[u]["y"]), (g.nodes[v]["x"], g.nodes[v]["y"]))
        if length < 0 or math.isnan(length):
            raise RoadGraphError(f"road graph {p}: edge {u!r}-{v!r} has length {length}; must be >= 0")
        if g.has_edge(u, v):  # parallel streets of a multigraph: the shorter one
            length = min(length, g.edges[u, v]["length_m"])
        g.add_edge(u, v, length_m=length)
    check_road_graph(g, str(p))
    return g


def check_road_graph(g: nx.Graph, source: str = "road graph") -> None:
    """Raise RoadGraphError unless every node can reach every other node."""
    if g.number_of_nodes() == 0:
        raise RoadGraphError(f"{source} has no nodes")
    if g.is_directed():
        comps = sorted(nx.strongly_connected_components(g), key=len, reverse=True)
        kind = "strongly connected components (one-way streets trap a truck)"
    else:
        comps = sorted(nx.connected_components(g), key=len, reverse=True)
        kind = "connected components"
    if len(comps) > 1:
        a, b = next(iter(comps[0])), next(iter(comps[1]))
        raise RoadGraphError(
            f"{source} is not connected: {len(comps)} {kind}; the largest has {len(comps[0])} of "
            f"{g.number_of_nodes()} nodes, and e.g. node {b!r} cannot be reached from node {a!r}")


def nearest_nodes(g: nx.Graph, xy: np.ndarray) -> list:
    """The road node nearest (straight line) to each (x, y) row."""
    nodes = list(g.nodes)
    pos = np.array([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in nodes])
    d2 = ((np.asarray(xy, float)[:, None, :] - pos[None, :, :]) ** 2).sum(axis=2)
    return [nodes[i] for i in d2.argmin(axis=1)]


def distance_matrix(g: nx.Graph, stops: list) -> np.ndarray:
    """Shortest driving distance (m) between road nodes stops[i] -> stops[j]."""
    uniq = list(dict.fromkeys(stops))
    rows = {}
    for s in uniq:
        rows[s] = nx.single_source_dijkstra_path_length(g, s, weight="length_m")
    return np.array([[rows[a][b] for b in stops] for a in stops], dtype=float)


# ---------------------------------------------------------------- CVRP heuristic

def route_length(dist: np.ndarray, route: list[int], depot: int = 0) -> float:
    """Length of depot -> route... -> depot."""
    if not route:
        return 0.0
    path = [depot, *route, depot]
    return float(sum(dist[a, b] for a, b in zip(path, path[1:])))


def two_opt(dist: np.ndarray, route: list[int], depot: int = 0) -> list[int]:
    """Reverse segments of the route while that shortens it (first improvement)."""
    best = list(route)
    best_len = route_length(dist, best, depot)
    improved = True
    while improved:
        improved = False
        for i in range(len(best) - 1):
            for j in range(i + 1, len(best)):
                cand = best[:i] + best[i:j + 1][::-1] + best[j + 1:]
                cand_len = route_length(dist, cand, depot)  # full length: also right for one-way streets
                if cand_len < best_len - 1e-9:
                    best, best_len, improved = cand, cand_len, True
    return best


def solve_cvrp(dist: np.ndarray, demands, capacity: float, depot: int = 0) -> list[list[int]]:
    """Routes (lists of stop indices, depot excluded) serving every stop with demand > 0 (see module docstring)."""
    demands = np.asarray(demands, dtype=float)
    if capacity <= 0:
        raise ValueError(f"truck capacity = {capacity}: must be > 0")
    over = [i for i, q in enumerate(demands) if i != depot and q > capacity]
    if over:
        raise ValueError(f"stop {over[0]} has demand {demands[over[0]]:g} > truck capacity {capacity:g}")
    todo = {i for i in range(len(demands)) if i != depot and demands[i] > 0}
    routes = []
    while todo:
        route, load, here = [], 0.0, depot
        while True:
            fits = [i for i in todo if load + demands[i] <= capacity + 1e-12]
            if not fits:
                break
            nxt = min(fits, key=lambda i: (dist[here, i], i))
            route.append(nxt)
            load += demands[nxt]
            todo.discard(nxt)
            here = nxt
        routes.append(two_opt(dist, route, depot))
    return routes
