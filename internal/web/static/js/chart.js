// The traffic charts of an app: requests per second by release with the
// error rate, and p50/p99 latency, on one time axis, with what the
// rollouts did marked on both (starts, steps, promotions, rollbacks) and
// each canary analysis drawn as the window it judged, coloured by its
// verdict. Drawn with uPlot (vendored, see vendor/uplot/VERSION).
"use strict";

import { $, el, fill } from "./dom.js";

const palette = ["#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];
const verdictFill = { pass: "rgba(22,163,74,.12)", inconclusive: "rgba(202,138,4,.12)", fail: "rgba(220,38,38,.18)" };
const shownStates = new Set(["pending", "done", "rolling_back", "rolled_back", "failed"]);

// label is what a mark says on the chart, short.
function label(m) {
  if (m.kind === "state") {
    const s = (m.data && m.data.state) || "";
    return s === "pending" ? "#" + m.rollout + " starts" : "#" + m.rollout + " " + s.replace("_", " ");
  }
  if (m.kind === "step") {
    const w = m.text.match(/(\d+)% of clients on (v\d+)/);
    if (w) return w[2] + " " + w[1] + "%";
    if (/promoted/.test(m.text)) return "promoted";
    return "";
  }
  return "";
}

// marksPlugin draws the marks and analysis windows of the history.
function marksPlugin(getHistory) {
  return {
    hooks: {
      drawClear: [(u) => {
        const h = getHistory();
        if (!h) return;
        const { ctx } = u;
        const top = u.bbox.top, height = u.bbox.height;
        for (const m of h.marks) {
          if (m.kind !== "analysis" || !m.data || !m.data.from) continue;
          const x0 = u.valToPos(Date.parse(m.data.from) / 1000, "x", true);
          const x1 = u.valToPos(Date.parse(m.data.to) / 1000, "x", true);
          ctx.fillStyle = verdictFill[m.data.verdict] || verdictFill.inconclusive;
          ctx.fillRect(Math.min(x0, x1), top, Math.max(2, Math.abs(x1 - x0)), height);
        }
      }],
      draw: [(u) => {
        const h = getHistory();
        if (!h) return;
        const { ctx } = u;
        ctx.save();
        ctx.font = "11px system-ui, sans-serif";
        const rowEnd = [-1e9, -1e9, -1e9]; // where each label row's last text ends
        for (const m of h.marks) {
          const text = label(m);
          if (!text || (m.kind === "state" && !shownStates.has(m.data && m.data.state))) continue;
          const x = u.valToPos(Date.parse(m.time) / 1000, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          const bad = /rolled back|rolling back|failed/.test(text);
          ctx.strokeStyle = bad ? "#dc2626" : "#64748b";
          ctx.setLineDash([4, 3]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          // A label goes on the first row it fits in, else is left out
          // (its line stays; the legend and the list below have the rest).
          const w = ctx.measureText(text).width + 6;
          const row = rowEnd.findIndex((end) => end < x);
          if (row < 0) continue;
          rowEnd[row] = x + w;
          ctx.fillStyle = bad ? "#b91c1c" : "#334155";
          ctx.fillText(text, x + 3, u.bbox.top + 12 + row * 13);
        }
        ctx.restore();
      }],
    },
  };
}

const num = (v) => (v === null || v === undefined ? null : v);

export class TrafficCharts {
  constructor(rpsEl, latencyEl) {
    this.rpsEl = rpsEl;
    this.latencyEl = latencyEl;
    this.history = null;
    this.key = "";
    this.plots = [];
  }

  // update draws h (a TrafficHistory) of an app created at born (steps
  // before it are gaps, not zeros).
  update(h, born) {
    this.history = h;
    const releases = h.releases.slice(0, palette.length - 1);
    const key = releases.map((r) => r.release).join(",");
    // A young app's window starts where its history does (a few steps
    // before its first request or mark), so that its traffic is not
    // squeezed against the right edge; at least 30 steps are shown, and
    // those before the app existed are gaps.
    let first = h.t.length;
    h.total.requests.forEach((n, i) => { if (n > 0 && i < first) first = i; });
    for (const m of h.marks) {
      const i = h.t.findIndex((t) => t >= Date.parse(m.time) / 1000);
      if (i >= 0 && i < first) first = i;
    }
    const from = Math.max(0, Math.min(first - 3, h.t.length - 30));
    const bornAt = born ? Date.parse(born) / 1000 : 0;
    const cut = (a) => a.slice(from).map((v, i) => (h.t[from + i] + (h.t[1] - h.t[0] || 0) <= bornAt ? null : v));
    const x = h.t.slice(from); // unix seconds
    const rpsData = [x, cut(h.total.rps).map(num), ...releases.map((r) => cut(r.rps).map(num)), cut(h.total.error_rate).map((v) => (v === null ? null : 100 * v))];
    const latData = [x, cut(h.total.p50_ms).map(num), cut(h.total.p99_ms).map(num)];
    if (key !== this.key || this.plots.length === 0) {
      this.destroy();
      this.key = key;
      this.plots = [this.rpsPlot(releases, rpsData), this.latencyPlot(latData)];
    } else {
      this.plots[0].setData(rpsData);
      this.plots[1].setData(latData);
    }
  }

  width() { return Math.max(320, this.rpsEl.clientWidth || this.rpsEl.parentElement.clientWidth - 32); }

  rpsPlot(releases, data) {
    const series = [
      {},
      { label: "all req/s", stroke: "#0f172a", width: 2, value: (u, v) => (v == null ? "–" : v.toFixed(1)) },
      ...releases.map((r, i) => ({ label: "v" + r.release + " req/s", stroke: palette[i], width: 1.5, value: (u, v) => (v == null ? "–" : v.toFixed(1)) })),
      { label: "errors %", stroke: "#dc2626", width: 1, dash: [5, 3], scale: "%", value: (u, v) => (v == null ? "–" : v.toFixed(2) + "%") },
    ];
    return new uPlot({
      width: this.width(), height: 220, series,
      scales: { x: { time: true }, "%": { range: (u, min, max) => [0, Math.min(100, Math.max(5, 1.2 * (max || 0)))] } },
      axes: [{}, { label: "requests/s", size: 60 }, { side: 1, scale: "%", label: "errors %", grid: { show: false }, size: 50 }],
      plugins: [marksPlugin(() => this.history)],
    }, data, this.rpsEl);
  }

  latencyPlot(data) {
    const ms = (u, v) => (v == null ? "–" : v.toFixed(v < 10 ? 2 : 0) + " ms");
    return new uPlot({
      width: this.width(), height: 160,
      series: [{}, { label: "p50", stroke: "#0891b2", width: 1.5, value: ms }, { label: "p99", stroke: "#9333ea", width: 1.5, value: ms }],
      scales: { x: { time: true } },
      axes: [{}, { label: "latency ms", size: 60 }],
      plugins: [marksPlugin(() => this.history)],
    }, data, this.latencyEl);
  }

  resize() {
    for (const p of this.plots) p.setSize({ width: this.width(), height: p.height });
  }

  destroy() {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.key = "";
  }
}

// analysisList lists the canary analyses of the history, newest first,
// with the numbers each judged against its limits.
export function analysisList(h) {
  const items = [];
  for (const m of h.marks.filter((m) => m.kind === "analysis" && m.data && m.data.verdict).reverse()) {
    const d = m.data;
    const pct = (v) => (100 * v).toFixed(2) + "%";
    const limits = "limits: ≥" + d.min_requests + " requests, ≤" + pct(d.max_error_rate) + " errors" + (d.max_p99_ms ? ", p99 ≤ " + d.max_p99_ms + " ms" : "");
    items.push(el("li", { class: "verdict-" + d.verdict, dataset: { verdict: d.verdict } },
      el("strong", {}, d.verdict), " " + new Date(m.time).toLocaleTimeString() + " #" + m.rollout + ": canary " + d.canary_requests + " requests, " +
      pct(d.canary_error_rate) + " errors, p99 " + d.canary_p99_ms + " ms; stable " + d.stable_requests + " requests, " +
      pct(d.stable_error_rate) + " errors, p99 " + d.stable_p99_ms + " ms (" + limits + ")"));
  }
  fill($("#analyses"), ...items.slice(0, 8));
}
