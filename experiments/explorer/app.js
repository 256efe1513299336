// GAIDT Twin Explorer front end: plain JS + SVG, no build step, no network beyond this server.
// Contracts (tests/test_explorer.py): every map node has data-node="sensor-<i>" | "gateway-<j>";
// #round carries data-round; window.explorerTimings holds the load and scrub timings (ms).
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.search);
const TOKEN = params.get("token");
const T = (window.explorerTimings = { load_ms: null, scrub_ms: [], rounds_received: [], commands: [] });
const STATUS_COLORS = { served: "#2e9e4f", starved: "#f0a020", unreachable: "#d03030", attached: "#3b7dd8" };
const RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]; // viridis stops
const $ = (id) => document.getElementById(id);

const S = {
  summary: null, live: false, rounds: [], cache: new Map(), round: null, state: null,
  colorBy: null, selected: null, nodes: { sensor: new Map(), gateway: new Map() }, links: new Map(),
  pos: { sensor: new Map(), gateway: new Map() }, bounds: null, renderSeq: 0, follow: true, playing: null,
};

function api(path) {
  if (!TOKEN) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}
async function getJSON(path) {
  const r = await fetch(api(path));
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}
function setStatus(text, state) {
  const el = $("status");
  el.textContent = text;
  if (state) el.dataset.state = state;
}
function fmt(v, digits = 3) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en");
  const a = Math.abs(v);
  return a >= 1000 ? v.toLocaleString("en", { maximumFractionDigits: 0 }) : v.toPrecision(digits).replace(/\.?0+$/, "");
}
function nextFrame() {
  return new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
}

// ---------------------------------------------------------------- colours
function lerpColor(a, b, t) {
  const pa = parseInt(a.slice(1), 16), pb = parseInt(b.slice(1), 16);
  const c = [16, 8, 0].map((s) => Math.round(((pa >> s) & 255) * (1 - t) + ((pb >> s) & 255) * t));
  return "#" + c.map((x) => x.toString(16).padStart(2, "0")).join("");
}
function ramp(t) {
  if (!(t >= 0)) t = 0;
  if (t > 1) t = 1;
  const x = t * (RAMP.length - 1), i = Math.min(Math.floor(x), RAMP.length - 2);
  return lerpColor(RAMP[i], RAMP[i + 1], x - i);
}

// Colour options: "final:<name>" (result.json, fixed over rounds) or "round:<name>" (the twin at the round).
function colorOptions() {
  const opts = [];
  const fin = S.summary.sensors_final;
  if (fin) {
    opts.push(["final:status", `status (result.json${fin.status_source === "derived" ? ", derived from served/attached" : ""})`]);
    const prefer = ["latency_mean_ms", "goodput_bps", "delivery_ratio", "sinr_db", "rsrp_dbm"];
    const names = Object.keys(fin.columns);
    const energy = names.filter((n) => n.includes("energy"));
    for (const n of [...prefer.filter((n) => names.includes(n)), ...energy]) opts.push(["final:" + n, n + " (result.json)"]);
  }
  const rc = (S.summary.round_columns || {}).sensor || [];
  const skip = new Set(["x_m", "y_m"]);
  const preferR = ["latency_mean_ms", "latency_last_ms", "rx_packets", "tx_packets", "sinr_db", "rsrp_dbm",
    "in_flight_packets", "buffer_drops", "late_packets", "attached"];
  const rest = rc.filter((n) => !skip.has(n) && !preferR.includes(n));
  for (const n of [...preferR.filter((n) => rc.includes(n)), ...rest]) opts.push(["round:" + n, n + " (twin at round)"]);
  return opts;
}
function fillColorOptions() {
  const sel = $("color-by");
  const current = sel.value;
  const opts = colorOptions();
  sel.replaceChildren(...opts.map(([v, label]) => new Option(label, v)));
  const keep = opts.find(([v]) => v === current);
  sel.value = keep ? current : opts.length ? opts[0][0] : "";
  S.colorBy = sel.value;
}

// Per-sensor colour values for the current choice: {colors: Map(id -> css), legend: DOM nodes}.
function sensorColors(state) {
  const choice = S.colorBy || "";
  const colors = new Map();
  const [src, name] = choice.split(/:(.*)/s);
  if (src === "final" && S.summary.sensors_final) {
    const fin = S.summary.sensors_final;
    if (name === "status") {
      const counts = {};
      fin.ids.forEach((id, k) => {
        const st = fin.status[k];
        counts[st] = (counts[st] || 0) + 1;
        colors.set(id, STATUS_COLORS[st] || "#888");
      });
      return { colors, legend: statusLegend(counts) };
    }
    return numericColors(fin.ids, fin.columns[name] || [], colors);
  }
  if (src === "round" && state && state.sets.sensor) {
    const s = state.sets.sensor;
    let values = s.columns[name] || [];
    if (name.startsWith("latency") && s.columns.rx_packets) {
      // a latency over no delivered packet is undefined, not 0 ms
      values = values.map((v, k) => (s.columns.rx_packets[k] > 0 ? v : null));
    }
    return numericColors(s.ids, values, colors);
  }
  return { colors, legend: [] };
}
function numericColors(ids, values, colors) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (v !== null && v !== undefined) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi > lo ? hi - lo : 1;
  ids.forEach((id, k) => {
    const v = values[k];
    colors.set(id, v === null || v === undefined ? "#c8ccd1" : ramp((v - lo) / span));
  });
  const bar = document.createElement("span");
  bar.className = "ramp";
  bar.style.background = `linear-gradient(to right, ${RAMP.join(",")})`;
  const a = document.createElement("span"), b = document.createElement("span");
  a.textContent = lo === Infinity ? "no values" : fmt(lo);
  b.textContent = hi === -Infinity ? "" : fmt(hi);
  return { colors, legend: [a, bar, b] };
}
function statusLegend(counts) {
  return Object.entries(counts).map(([st, n]) => {
    const el = document.createElement("span");
    el.dataset.status = st;
    const sw = document.createElement("span");
    sw.className = "sw";
    sw.style.background = STATUS_COLORS[st] || "#888";
    el.append(sw, `${st} ${n}`);
    return el;
  });
}

// ---------------------------------------------------------------- the map
function ensureNode(kind, id) {
  let el = S.nodes[kind].get(id);
  if (el) return el;
  if (kind === "sensor") {
    el = document.createElementNS(SVGNS, "circle");
    el.setAttribute("class", "sensor");
    const link = document.createElementNS(SVGNS, "line");
    link.dataset.link = "sensor-" + id;
    $("links").appendChild(link);
    S.links.set(id, link);
    $("sensors").appendChild(el);
  } else {
    el = document.createElementNS(SVGNS, "rect");
    el.setAttribute("class", "gateway");
    $("gateways").appendChild(el);
  }
  el.dataset.node = `${kind}-${id}`;
  const title = document.createElementNS(SVGNS, "title");
  title.textContent = `${kind}-${id}`;
  el.appendChild(title);
  S.nodes[kind].set(id, el);
  return el;
}
function flipY(y) { return S.bounds ? S.bounds.y0 + S.bounds.y1 - y : y; }
function placeNode(kind, id, x, y) {
  const old = S.pos[kind].get(id);
  if (old && old[0] === x && old[1] === y) return false;
  S.pos[kind].set(id, [x, y]);
  return true;
}
function updateBounds() {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const m of [S.pos.sensor, S.pos.gateway]) for (const [x, y] of m.values()) {
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  if (x0 === Infinity) return;
  const span = Math.max(x1 - x0, y1 - y0, 1), pad = span * 0.04;
  const b = { x0: x0 - pad, y0: y0 - pad, x1: x1 + pad, y1: y1 + pad, span };
  if (S.bounds && ["x0", "y0", "x1", "y1"].every((k) => S.bounds[k] === b[k])) return;
  S.bounds = b;
  $("map").setAttribute("viewBox", `${b.x0} ${b.y0} ${b.x1 - b.x0} ${b.y1 - b.y0}`);
  $("map").style.setProperty("--sw", `${b.span / 900}px`);
  drawPositions();
}
// A map with nodes but no positions says why it is empty (a scenario that publishes no x_m / y_m).
function showMapNote() {
  const nodes = S.nodes.sensor.size + S.nodes.gateway.size;
  const placed = S.pos.sensor.size + S.pos.gateway.size;
  const note = $("map-note");
  note.hidden = !(nodes > 0 && placed === 0);
  note.textContent = note.hidden ? "" : `no positions: this run publishes no x_m / y_m columns, so its ${nodes} ` +
    "nodes cannot be placed on the map (the inspector, KPIs and gateway load still work)";
}
// The Set panel offers the parameters the scenario declared in its hello (per kind of node).
function fillSetParams(parameters) {
  const sel = $("set-param");
  const current = sel.value;
  const opts = [];
  for (const [kind, names] of Object.entries(parameters || {})) {
    for (const name of names) {
      const o = new Option(`${name} (${kind})`, name);
      o.dataset.kind = kind;
      opts.push(o);
    }
  }
  sel.replaceChildren(...opts);
  if (opts.some((o) => o.value === current)) sel.value = current;
  $("set-form").querySelector("button").disabled = !opts.length;
  if (!opts.length) sel.replaceChildren(new Option("no settable parameters", ""));
}
function onSetParam() {
  const o = $("set-param").selectedOptions[0];
  const node = $("set-node");
  if (o && o.dataset.kind && node.value.endsWith("-*")) node.value = `${o.dataset.kind}-*`;
}
function drawPositions() {
  const r = S.bounds.span / 170, g = S.bounds.span / 45;
  for (const [id, el] of S.nodes.sensor) {
    const p = S.pos.sensor.get(id);
    if (!p) { el.setAttribute("display", "none"); continue; }
    el.removeAttribute("display");
    el.setAttribute("cx", p[0]);
    el.setAttribute("cy", flipY(p[1]));
    el.setAttribute("r", r);
  }
  for (const [id, el] of S.nodes.gateway) {
    const p = S.pos.gateway.get(id);
    if (!p) { el.setAttribute("display", "none"); continue; }
    el.removeAttribute("display");
    el.setAttribute("x", p[0] - g / 2);
    el.setAttribute("y", flipY(p[1]) - g / 2);
    el.setAttribute("width", g);
    el.setAttribute("height", g);
  }
  S.linkTargets = new Map(); // forces every link to be redrawn
}

// Nodes and positions known before any round: result.json's sensors and gateways (finished runs).
function seedNodes() {
  const fin = S.summary.sensors_final;
  if (fin) {
    const xs = fin.columns.x_m || [], ys = fin.columns.y_m || [];
    fin.ids.forEach((id, k) => {
      ensureNode("sensor", id);
      if (xs[k] != null && ys[k] != null) placeNode("sensor", id, xs[k], ys[k]);
    });
  }
  for (const g of S.summary.gateways || []) {
    ensureNode("gateway", g.id);
    if (g.x_m != null && g.y_m != null) placeNode("gateway", g.id, g.x_m, g.y_m);
  }
}

// Draw the twin of one round: positions of newly seen nodes, colours, stale marks, links.
function render(state) {
  let moved = false;
  for (const kind of ["gateway", "sensor"]) {
    const s = state.sets[kind];
    if (!s) continue;
    const xs = s.columns.x_m || [], ys = s.columns.y_m || [];
    for (let k = 0; k < s.ids.length; k++) {
      const id = s.ids[k];
      if (!S.nodes[kind].has(id)) { ensureNode(kind, id); moved = true; }
      if (xs[k] != null && !S.pos[kind].has(id)) moved = placeNode(kind, id, xs[k], ys[k]) || moved;
    }
  }
  if (moved) {
    S.bounds = null;
    updateBounds();
  }
  showMapNote();
  const { colors, legend } = sensorColors(state);
  $("legend").replaceChildren(...legend);
  const s = state.sets.sensor || { ids: [], fresh: [], synced_round: [], columns: {} };
  const gwCol = s.columns.attached_gateway || [];
  const fresh = new Map();
  const gwOf = new Map();
  for (let k = 0; k < s.ids.length; k++) {
    fresh.set(s.ids[k], s.fresh[k] ? 1 : s.synced_round[k] < 0 ? -1 : 0);
    gwOf.set(s.ids[k], gwCol[k]);
  }
  let nFresh = 0, nStale = 0;
  if (!S.linkTargets) S.linkTargets = new Map();
  for (const [id, el] of S.nodes.sensor) {
    const f = fresh.has(id) ? fresh.get(id) : -1;
    const cls = (f === 1 ? "sensor" : f === 0 ? "sensor stale" : "sensor stale unsynced") +
      (S.selected === "sensor-" + id ? " selected" : "");
    if (el.getAttribute("class") !== cls) el.setAttribute("class", cls);
    const staleAttr = f === 1 ? "false" : "true";
    if (el.dataset.stale !== staleAttr) el.dataset.stale = staleAttr;
    if (f === 1) nFresh++; else nStale++;
    const c = colors.get(id) || "#c8ccd1";
    if (el.getAttribute("fill") !== c) el.setAttribute("fill", c);
    // link to the serving gateway: the twin's attached_gateway at this round, else result.json's
    let gw = gwOf.get(id);
    if (gw === undefined || gw === null) gw = finalGateway(id);
    const link = S.links.get(id);
    const target = gw !== null && gw !== undefined && gw >= 0 ? gw : -1;
    if (S.linkTargets.get(id) !== target) {
      S.linkTargets.set(id, target);
      const p = S.pos.sensor.get(id), q = target >= 0 ? S.pos.gateway.get(target) : null;
      if (p && q) {
        link.setAttribute("x1", p[0]); link.setAttribute("y1", flipY(p[1]));
        link.setAttribute("x2", q[0]); link.setAttribute("y2", flipY(q[1]));
        link.removeAttribute("display");
        link.dataset.gateway = "gateway-" + target;
      } else {
        link.setAttribute("display", "none");
      }
    }
  }
  if (S.selected) {
    const el = nodeEl(S.selected);
    if (el) el.classList.add("selected");
  }
  const roundEl = $("round");
  roundEl.dataset.round = String(state.round);
  roundEl.textContent = `round ${state.round}`;
  $("round-info").textContent = `t = ${fmt(state.sim_time_s)} s · ${nFresh} sensors synced, ${nStale} stale`;
  $("round-info").dataset.fresh = String(nFresh);
  $("round-info").dataset.stale = String(nStale);
  renderGatewayLoad(state);
  if (S.live) renderLiveKpis(state);
  renderInspectorRound();
}
function finalGateway(id) {
  const fin = S.summary.sensors_final;
  if (!fin || !fin.columns.attached_gateway) return null;
  if (!S.finalIndex) S.finalIndex = new Map(fin.ids.map((v, k) => [v, k]));
  const k = S.finalIndex.get(id);
  return k === undefined ? null : fin.columns.attached_gateway[k];
}
function nodeEl(nodeId) {
  const [kind, id] = nodeId.split("-");
  return S.nodes[kind] ? S.nodes[kind].get(Number(id)) : null;
}

// ---------------------------------------------------------------- rounds and the scrubber
// The map needs a few attributes per round; a finished run's rounds are fetched with only those
// (the inspector asks for its node's full state), which keeps a 1000-sensor redraw small.
function mapColumns() {
  const want = ["attached_gateway", "rx_packets", "attached_sensors"];
  const placed = S.pos.sensor.size === S.nodes.sensor.size && S.pos.gateway.size === S.nodes.gateway.size &&
    S.nodes.sensor.size > 0;
  if (!placed) want.push("x_m", "y_m"); // positions not all known from result.json
  const [src, name] = (S.colorBy || "").split(/:(.*)/s);
  if (src === "round" && name && !want.includes(name)) want.push(name);
  const known = new Set(Object.values(S.summary.round_columns || {}).flat());
  return want.filter((c) => known.has(c));
}
async function roundState(k) {
  if (S.live) return S.cache.get(k) || getJSON(`/api/round/${k}`);
  const cols = mapColumns().join(",");
  const key = `${k}|${cols}`;
  let st = S.cache.get(key);
  if (!st) {
    st = await getJSON(`/api/round/${k}?columns=${cols}`);
    S.cache.set(key, st);
    if (S.cache.size > 64) S.cache.delete(S.cache.keys().next().value);
  }
  return st;
}
async function showRound(k) {
  const seq = ++S.renderSeq;
  const t0 = performance.now();
  const st = await roundState(k);
  if (seq !== S.renderSeq) return false; // a later scrub superseded this one
  const t1 = performance.now();
  S.round = k;
  S.state = st;
  render(st);
  S.lastSplit = { fetch_ms: t1 - t0, render_ms: performance.now() - t1 };
  return true;
}
function syncScrubber() {
  const sc = $("scrubber");
  sc.max = String(Math.max(S.rounds.length - 1, 0));
  sc.disabled = S.rounds.length === 0;
  if (S.round !== null) sc.value = String(S.rounds.indexOf(S.round));
}
async function onScrub() {
  const t0 = performance.now();
  const k = S.rounds[Number($("scrubber").value)];
  if (k === undefined) return;
  if (S.live) S.follow = $("follow").checked = Number($("scrubber").value) === S.rounds.length - 1;
  if (await showRound(k)) {
    await nextFrame();
    T.scrub_ms.push(performance.now() - t0);
    (T.scrub_split = T.scrub_split || []).push(S.lastSplit);
  }
}
function togglePlay() {
  if (S.playing) {
    clearInterval(S.playing);
    S.playing = null;
    $("play").textContent = "▶";
    return;
  }
  $("play").textContent = "❚❚";
  S.playing = setInterval(() => {
    const sc = $("scrubber");
    const i = Number(sc.value) + 1;
    if (i >= S.rounds.length) return togglePlay();
    sc.value = String(i);
    onScrub();
  }, 250);
}

// ---------------------------------------------------------------- KPIs and per-gateway load
const KPI_LABELS = {
  rho: ["rho", "share of sensors served"], d: ["d", "deadline success"], l: ["l", "mean UL latency, ms"],
  alpha: ["alpha", "RLC buffer drop ratio"], l_p95_ms: ["l p95", "UL latency p95, ms"],
  delivery_ratio: ["delivery", "rx / tx packets"], late_ratio: ["late", "late / tx packets"],
};
function rows(table, data) {
  table.replaceChildren(...data.map((cells, i) => {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement(i === 0 && data.header ? "th" : "td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      if (typeof c === "string" && /^[-\d.,–]+$/.test(c)) td.className = "num";
      if (c instanceof Node && c.className === "bar") td.className = "barcell";
      tr.appendChild(td);
    }
    return tr;
  }));
}
function labelled(label, what) {
  const el = document.createElement("span");
  el.textContent = label;
  el.title = what;
  return el;
}
function renderKpis() {
  const s = S.summary;
  if (S.live) return;
  const data = [];
  for (const [k, [label, what]] of Object.entries(KPI_LABELS)) {
    if (s.kpis[k] !== undefined) data.push([labelled(label, what), fmt(s.kpis[k]), what]);
  }
  if (s.totals.goodput_bps !== undefined)
    data.push(["goodput", fmt(s.totals.goodput_bps / 1e3), `kb/s of ${fmt(s.totals.offered_bps / 1e3)} offered`]);
  data.push(["sensors", `${fmt(s.sensors_attached)}/${fmt(s.sensors_total)}`, "attached / total"]);
  const fin = s.sensors_final;
  if (fin) {
    const c = {};
    for (const st of fin.status) c[st] = (c[st] || 0) + 1;
    data.push(["status", Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", "),
      fin.status_source === "derived" ? "derived (no status in result.json)" : "result.json"]);
  }
  if (s.twin) data.push(["twin", `${s.twin.snapshots} rounds`, `${s.twin.gaps} gaps, ${s.twin.bad_frames} bad frames`]);
  if (s.wall_s !== undefined && s.wall_s !== null) data.push(["ns-3 wall", fmt(s.wall_s), "s"]);
  rows($("kpis"), data);
  $("kpis").dataset.kpis = JSON.stringify(s.kpis);
}
function renderLiveKpis(state) {
  const s = state.sets.sensor;
  if (!s) return;
  const sum = (name) => (s.columns[name] || []).reduce((a, v) => a + (v || 0), 0);
  const tx = sum("tx_packets"), rx = sum("rx_packets");
  const lat = (s.columns.latency_mean_ms || []).filter((v) => v > 0);
  const total = (S.summary.totals_nodes || {}).sensor || s.ids.length;
  // a scenario that publishes neither `attached` nor `attached_gateway` has no attachment to count: "–"
  const attached = s.columns.attached ? fmt(sum("attached"))
    : s.columns.attached_gateway ? fmt(s.columns.attached_gateway.filter((g) => g !== null && g >= 0).length) : "–";
  rows($("kpis"), [
    ["sensors", `${attached}/${total}`, "attached (twin) / total"],
    ["synced", `${s.fresh.reduce((a, v) => a + v, 0)}`, "transferred this round"],
    ["tx / rx", `${fmt(tx)} / ${fmt(rx)}`, "UL packets so far (twin)"],
    ["delivery", tx ? fmt(rx / tx) : "–", "rx / tx packets"],
    ["l", lat.length ? fmt(lat.reduce((a, v) => a + v, 0) / lat.length) : "–", "mean of sensors' mean UL latency, ms"],
  ]);
}
function renderGatewayLoad(state) {
  const final = new Map((S.summary.gateways || []).map((g) => [g.id, g]));
  const g = state && state.sets.gateway;
  const atRound = new Map();
  if (g) g.ids.forEach((id, k) => atRound.set(id, (g.columns.attached_sensors || [])[k]));
  const ids = [...new Set([...final.keys(), ...atRound.keys()])].sort((a, b) => a - b);
  let max = 1;
  for (const id of ids) max = Math.max(max, atRound.get(id) || 0, (final.get(id) || {}).attached_sensors || 0);
  const rxAt = new Map();
  if (g && g.columns.rx_packets) g.ids.forEach((id, k) => rxAt.set(id, g.columns.rx_packets[k]));
  // finished runs: result.json's goodput and served ratio; live: the twin's UL packets so far
  const data = [S.live ? ["gw", "sensors (round)", "", "rx packets", ""] : ["gw", "sensors (round)", "", "goodput kb/s", "served"]];
  data.header = true;
  for (const id of ids) {
    const f = final.get(id) || {};
    const n = atRound.has(id) ? atRound.get(id) : f.attached_sensors;
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${Math.round((100 * (n || 0)) / max)}%`;
    data.push(S.live ? [String(id), fmt(n), bar, fmt(rxAt.get(id)), ""]
      : [String(id), fmt(n), bar, f.goodput_bps !== undefined ? fmt(f.goodput_bps / 1e3) : "–",
        f.served_ratio !== undefined ? fmt(f.served_ratio) : "–"]);
  }
  rows($("gw-load"), data);
}

// ---------------------------------------------------------------- inspector
async function select(nodeId) {
  if (S.selected) { const old = nodeEl(S.selected); if (old) old.classList.remove("selected"); }
  S.selected = nodeId;
  const el = nodeEl(nodeId);
  if (el) el.classList.add("selected");
  $("inspector-hint").hidden = true;
  const body = $("inspector-body");
  body.dataset.node = nodeId;
  body.replaceChildren(Object.assign(document.createElement("p"), { textContent: "loading…" }));
  const info = await getJSON(`/api/node/${nodeId}` + (S.round !== null ? `?round=${S.round}` : ""));
  if (S.selected !== nodeId) return;
  S.inspected = info;
  const title = document.createElement("h3");
  title.textContent = nodeId + (info.dtdl ? ` · ${info.dtdl.$metadata.$model}` : "");
  const roundPart = document.createElement("div");
  roundPart.id = "inspector-round";
  const chartPart = document.createElement("div");
  chartPart.append(chartControls(info.kind));
  const parts = [title, chartPart, roundPart];
  if (info.result) parts.push(h3("Final (result.json)"), kvTable(info.result));
  if (info.dtdl) parts.push(h3("DTDL twin (twin.dtdl.json, end of run)"), kvTable(dtdlProps(info.dtdl)));
  body.replaceChildren(...parts);
  renderInspectorRound();
  drawChart();
}
function h3(text) { return Object.assign(document.createElement("h3"), { textContent: text }); }
function dtdlProps(twin) {
  const out = {};
  for (const [k, v] of Object.entries(twin)) {
    if (k === "$metadata") {
      out["$model"] = v.$model;
      if (v.lastSync) out["lastSync"] = `round ${v.lastSync.round}, t = ${fmt(v.lastSync.sim_time_s)} s`;
    } else if (v && typeof v === "object") {
      for (const [kk, vv] of Object.entries(v)) if (kk !== "$metadata") out[`${k}.${kk}`] = vv;
    } else out[k] = v;
  }
  return out;
}
function kvTable(obj) {
  const t = document.createElement("table");
  const units = S.summary.units || {};
  rows(t, Object.entries(obj).map(([k, v]) => {
    const name = document.createElement("span");
    name.textContent = k;
    if (units[k]) name.title = units[k];
    return [name, typeof v === "object" && v !== null ? JSON.stringify(v) : fmt(v, 5)];
  }));
  return t;
}
async function renderInspectorRound() {
  const part = $("inspector-round");
  if (!part || !S.selected || !S.state) return;
  const node = S.selected, round = S.state.round;
  const seq = (S.inspectSeq = (S.inspectSeq || 0) + 1);
  let info;
  try {
    info = await getJSON(`/api/node/${node}?round=${round}`);
  } catch (err) {
    info = {};
  }
  if (seq !== S.inspectSeq || S.selected !== node) return; // superseded by a later round or click
  if (!info.state) {
    part.replaceChildren(h3(`At round ${round}`), Object.assign(document.createElement("p"),
      { textContent: "not synced yet", className: "stale-note" }));
    return;
  }
  const synced = info.synced_round;
  const note = document.createElement("p");
  note.dataset.syncedRound = String(synced);
  note.className = info.fresh ? "" : "stale-note";
  note.textContent = synced < 0 ? "never synced up to this round" : info.fresh
    ? `last sync: this round (${round})` : `stale: last sync at round ${synced}`;
  part.replaceChildren(h3(`At round ${round} (twin)`), note, kvTable(info.state));
  markChartRound();
}
function chartControls(kind) {
  const wrap = document.createElement("div");
  const sel = document.createElement("select");
  sel.id = "chart-attr";
  const cols = ((S.summary.round_columns || {})[kind] || []).filter((c) => c !== "x_m" && c !== "y_m");
  const pref = kind === "sensor" ? "latency_mean_ms" : "attached_sensors";
  if (!cols.length) return wrap; // no history store: no history to chart
  sel.replaceChildren(...cols.map((c) => new Option(c, c)));
  if (cols.includes(pref)) sel.value = pref;
  sel.addEventListener("change", drawChart);
  const svg = document.createElementNS(SVGNS, "svg");
  svg.id = "chart";
  svg.setAttribute("preserveAspectRatio", "none");
  wrap.append(h3("History (synced rounds)"), sel, svg);
  return wrap;
}
async function drawChart() {
  const sel = $("chart-attr"), svg = $("chart");
  if (!sel || !svg || !sel.value || !S.selected) return;
  const node = S.selected;
  const h = await getJSON(`/api/node/${node}/history?attr=${encodeURIComponent(sel.value)}`);
  if (S.selected !== node) return;
  const pts = h.rounds.map((r, i) => [r, h.values[i]]).filter(([, v]) => v !== null);
  const r0 = S.rounds.length ? S.rounds[0] : 0, r1 = S.rounds.length ? S.rounds[S.rounds.length - 1] : 1;
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (!(hi > lo)) { lo -= 1; hi += 1; }
  const W = 300, H = 90, px = (r) => ((r - r0) / Math.max(r1 - r0, 1)) * (W - 10) + 5,
    py = (v) => H - 6 - ((v - lo) / (hi - lo)) * (H - 12);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const line = document.createElementNS(SVGNS, "polyline");
  line.setAttribute("points", pts.map(([r, v]) => `${px(r)},${py(v)}`).join(" "));
  const now = document.createElementNS(SVGNS, "line");
  now.setAttribute("class", "now");
  now.setAttribute("y1", 0); now.setAttribute("y2", H);
  const label = document.createElementNS(SVGNS, "text");
  label.setAttribute("x", 4); label.setAttribute("y", 11); label.setAttribute("font-size", 10);
  label.textContent = pts.length ? `${fmt(lo)} … ${fmt(hi)} (${pts.length} syncs)` : "no synced values";
  svg.replaceChildren(line, now, label);
  svg.dataset.points = String(pts.length);
  S.chartX = px;
  markChartRound();
}
function markChartRound() {
  const now = document.querySelector("#chart line.now");
  if (!now || !S.chartX || S.round === null) return;
  now.setAttribute("x1", S.chartX(S.round));
  now.setAttribute("x2", S.chartX(S.round));
}

// ---------------------------------------------------------------- live mode
function startLive() {
  $("commands").hidden = false;
  $("follow-label").hidden = false;
  const es = new EventSource(api("/api/live"));
  es.addEventListener("open", () => setStatus("live: connected", "live"));
  es.addEventListener("parameters", (e) => {  // a late joiner: the bridge's `list` reply
    S.summary.parameters = JSON.parse(e.data).parameters;
    fillSetParams(S.summary.parameters);
  });
  es.addEventListener("hello", (e) => {
    const d = JSON.parse(e.data);
    S.summary.parameters = Object.fromEntries((d.header.sets || []).map((s) => [s.kind, s.parameters || []]));
    fillSetParams(S.summary.parameters);
  });
  es.addEventListener("error", () => setStatus("live: connection lost, retrying…", "error"));
  es.addEventListener("sync", (e) => {
    const d = JSON.parse(e.data);
    if (d.parameters && Object.keys(d.parameters).length) {  // hello came before this page connected
      S.summary.parameters = d.parameters;
      fillSetParams(d.parameters);
    }
    for (const k of d.rounds) if (!S.rounds.includes(k)) S.rounds.push(k);
    S.rounds.sort((a, b) => a - b);
    syncScrubber();
    if (d.end) liveEnded(d.end);
    else if (!S.rounds.length) setStatus("live: waiting for the first round", "live");
    if (S.rounds.length && S.follow) showRound(S.rounds[S.rounds.length - 1]).then(syncScrubber);
  });
  es.addEventListener("round", (e) => {
    const st = JSON.parse(e.data);
    T.rounds_received.push({ round: st.round, t_ms: performance.now() });
    S.cache.set(st.round, st);
    if (S.cache.size > 200) S.cache.delete(S.cache.keys().next().value); // older rounds: fetched again if shown
    if (!S.rounds.includes(st.round)) S.rounds.push(st.round);
    while (S.rounds.length > (S.summary.rounds_kept || Infinity)) S.rounds.shift(); // the server keeps no more
    setStatus(`live: round ${st.round} received`, "live");
    if (st.run_id && !S.summary.run_id) {
      S.summary.run_id = st.run_id;
      $("run-name").textContent = st.run_id;
    }
    if (!S.summary.round_columns.sensor && st.sets.sensor) {
      S.summary.round_columns = Object.fromEntries(Object.entries(st.sets).map(([k, v]) => [k, Object.keys(v.columns)]));
      fillColorOptions();
    }
    if (S.follow) {
      showRound(st.round).then(syncScrubber);
    } else {
      syncScrubber();
    }
  });
  es.addEventListener("end", (e) => { liveEnded(JSON.parse(e.data)); es.close(); });
  for (const b of document.querySelectorAll("#commands div.cmd-row > button")) {
    b.addEventListener("click", () => sendCommand({ op: b.dataset.cmd }));
  }
  fillSetParams(S.summary.parameters);
  $("set-param").addEventListener("change", onSetParam);
  $("set-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sendCommand({ op: "set", node: $("set-node").value.trim(), param: $("set-param").value, value: $("set-value").value });
  });
}
function liveEnded(end) {
  setStatus(`live: run ended (${end.status}) at round ${end.round}`, "ended");
}
async function sendCommand(req) {
  const li = document.createElement("li");
  li.dataset.op = req.op;
  li.dataset.pending = "true";
  li.textContent = `${req.op}${req.node ? " " + req.node + " " + req.param + "=" + req.value : ""} → …`;
  $("replies").prepend(li);
  const rec = { op: req.op, sent_ms: performance.now(), reply_ms: null, reply: null };
  T.commands.push(rec);
  let reply;
  try {
    const r = await fetch(api("/api/command"), {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req),
    });
    reply = await r.json();
  } catch (err) {
    reply = { ok: false, error: String(err) };
  }
  rec.reply_ms = performance.now();
  rec.reply = reply;
  li.dataset.pending = "false";
  li.dataset.ok = String(!!reply.ok);
  if (reply.round !== undefined) li.dataset.replyRound = String(reply.round);
  const what = reply.ok
    ? `ok${reply.applied !== undefined ? ", applied to " + reply.applied : ""}${reply.value !== undefined ? ", value " + JSON.stringify(reply.value) : ""}`
    : `error: ${reply.error}`;
  li.textContent = `${req.op}${req.node ? " " + req.node + " " + req.param + "=" + req.value : ""} → ${what}` +
    (reply.round !== undefined ? ` (round ${reply.round}, t = ${fmt(reply.sim_time_s)} s)` : "");
}

function missingNote() {
  const m = (S.summary.missing || []).filter((f) => f !== "history.sqlite" || S.rounds.length);
  return m.length ? ` · this folder lacks ${m.join(", ")}` : "";
}

// ---------------------------------------------------------------- start
async function main() {
  try {
    S.summary = await getJSON("/api/run");
  } catch (err) {
    setStatus("cannot load the run: " + err.message, "error");
    return;
  }
  S.live = S.summary.mode === "live";
  S.rounds = S.summary.rounds.slice();
  $("mode").textContent = S.live ? "live" : "finished run";
  $("mode").classList.toggle("live", S.live);
  $("run-name").textContent = [S.summary.name, S.summary.run_id].filter(Boolean).join(" · ");
  fillColorOptions();
  seedNodes();
  updateBounds();
  renderKpis();
  renderGatewayLoad(null);
  $("color-by").addEventListener("change", async () => {
    S.colorBy = $("color-by").value;
    if (S.round !== null) await showRound(S.round);
  });
  $("show-links").addEventListener("change", (e) => $("links").classList.toggle("hidden", !e.target.checked));
  $("scrubber").addEventListener("input", onScrub);
  $("play").addEventListener("click", togglePlay);
  $("follow").addEventListener("change", (e) => { S.follow = e.target.checked; });
  $("map").addEventListener("click", (e) => {
    const el = e.target.closest("[data-node]");
    if (el) select(el.dataset.node);
  });
  if (S.live) {
    startLive();
  } else if (S.rounds.length) {
    await showRound(S.rounds[S.rounds.length - 1]);
    syncScrubber();
    setStatus(`${S.rounds.length} rounds` + missingNote(), "ready");
  } else {
    render({ round: "–", sim_time_s: null, sets: {} });
    $("round").dataset.round = "";
    $("scrubber").disabled = true;
    setStatus("no history.sqlite: final state only" + missingNote(), "ready");
  }
  await nextFrame();
  T.load_ms = performance.now();
  document.body.dataset.ready = "true";
}
main();
