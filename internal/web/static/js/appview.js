// One app's page: its state and the actions that apply now, the rollout in
// progress, traffic charts, deploys, instances, releases; and tabs for its
// logs, environment and settings.
"use strict";

import { api, appPath, auth, stream, upload } from "./api.js";
import { $, $$, ago, bytes, clear, el, fill, refreshed, say, setBadge } from "./dom.js";
import { TrafficCharts, analysisList } from "./chart.js";

// These take traffic away or undo a rollout: they ask first.
const asks = {
  stop: (name) => "Stop " + name + "? Its instances go down and its URL shows a maintenance page until it is started again.",
  abort: (name) => "Abort the rollout of " + name + "? It rolls back to the release that served before.",
};

export class AppView {
  constructor(name) {
    this.name = name;
    this.timers = [];
    this.events = null; // { rollout, abort, ended, broken }
    this.logs = null;   // AbortController of the logs being followed
    this.status = null;
    this.releases = [];
    this.charts = new TrafficCharts($("#chart-rps"), $("#chart-latency"));
    this.tab = "overview";
    this.seq = 0;
    this.revealEnv = false;
    this.usage = new Map(); // instance id → its last readings {cpu: [], mem: []}, for the small charts
  }

  open() {
    $("#app-name").textContent = this.name;
    clear($("#events"));
    fill($("#analyses"));
    this.showTab(location.hash.split("/")[3] || "overview");
    this.every(1500, () => this.refresh());
    this.every(10000, () => this.refreshTraffic());
    this.onResize = () => this.charts.resize();
    window.addEventListener("resize", this.onResize);
  }

  close() {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.events) this.events.abort.abort();
    if (this.logs) this.logs.abort();
    this.charts.destroy();
    window.removeEventListener("resize", this.onResize);
  }

  every(ms, fn) {
    fn();
    this.timers.push(setInterval(fn, ms));
  }

  showTab(tab) {
    this.tab = tab;
    for (const a of $$("#tabs a")) {
      a.classList.toggle("active", a.dataset.tab === tab);
      a.href = "#/apps/" + encodeURIComponent(this.name) + "/" + a.dataset.tab;
    }
    for (const p of $$("#app-view [data-panel]")) p.hidden = p.dataset.panel !== tab;
    if (this.logs) { this.logs.abort(); this.logs = null; }
    if (tab === "logs") this.loadLogs();
    if (tab === "env") this.loadEnv();
    if (tab === "settings") this.loadSettings();
    if (tab === "overview") requestAnimationFrame(() => this.charts.resize());
  }

  // ---- status

  async refresh() {
    const my = ++this.seq;
    let st, releases;
    try {
      [st, releases] = await Promise.all([api("GET", appPath(this.name)), api("GET", appPath(this.name, "/releases"))]);
    } catch (e) {
      say(e.message, true, "refresh");
      return;
    }
    if (my !== this.seq) return; // a newer refresh answered first
    refreshed();
    this.status = st;
    this.releases = releases;
    this.render(st, releases);
  }

  render(st, releases) {
    setBadge($("#app-state"), st.state);
    $("#live").textContent = st.live ? "v" + st.live.version : "none";
    $("#live-desc").textContent = st.live ? st.live.description || "" : "not deployed yet";
    const sp = (st.live && st.live.spec) || {};
    $("#source").textContent = [sp.detected ? "detected " + sp.detected.kind + " (" + sp.detected.files.join(", ") + ")" : "",
      sp.release ? "release phase: " + sp.release + (sp.release_hold ? ", requests held up to " + Math.round(sp.release_hold / 1e9) + "s" : "") : ""]
      .filter(Boolean).join("; ") || "nonstop.yaml or Procfile";
    fill($("#urls"), ...(st.urls || []).map((u) => el("a", { href: u, target: "_blank", rel: "noopener" }, u)));
    const problems = $("#problems");
    problems.hidden = !(st.problems && st.problems.length);
    problems.textContent = (st.problems || []).join("\n");
    this.renderActions(st);
    // The env a rollout makes current is the app's once it is done.
    const key = st.rollout ? st.rollout.id + " " + st.rollout.state : "";
    if (key !== this.rolloutKey && this.rolloutKey !== undefined && this.tab === "env") this.loadEnv();
    this.rolloutKey = key;
    this.renderRollout(st, releases);
    this.renderInstances(st.instances || []);
    this.renderReleases(st, releases);
    if (!$("#scale-n").matches(":focus")) {
      const serving = (st.instances || []).filter((i) => i.state === "serving").length;
      $("#scale-n").value = String(serving || (st.live && st.live.spec && st.live.spec.instances) || 1);
    }
  }

  renderActions(st) {
    const can = new Set(st.actions || []);
    for (const b of $$("#app-view [data-action]")) {
      const a = b.dataset.action;
      b.disabled = a === "settings" ? auth.me && auth.me.role === "viewer" : !can.has(a);
      b.title = b.disabled ? (auth.me && auth.me.role === "viewer" ? "viewers read, they do not act" : "not now: " + (st.rollout && !["done", "failed", "rolled_back"].includes(st.rollout.state) ? "rollout #" + st.rollout.id + " is " + st.rollout.state : "it does not apply")) : "";
    }
    $("#scale-n").disabled = !can.has("scale");
    $("#upload").disabled = !can.has("deploy");
  }

  renderRollout(st, releases) {
    const r = st.rollout;
    const card = $("#rollout-card");
    card.hidden = !r;
    if (!r) return;
    setBadge($("#rollout-state"), r.state);
    $("#rollout-info").textContent = "#" + r.id + " " + r.kind + (r.strategy ? " (" + r.strategy + ")" : "") +
      (r.from_release ? " v" + r.from_release + " → " : " ") + "v" + r.to_release + " by " + r.created_by +
      (isSet(r.finished_at) ? ", ended " + ago(r.finished_at) + " ago" : ", started " + ago(r.created_at) + " ago");
    $("#waiting").textContent = st.waiting || "";
    const err = $("#rollout-error");
    err.hidden = !(r.reason && ["failed", "rolled_back", "rolling_back"].includes(r.state));
    err.textContent = r.reason || "";

    // Progress: a canary's steps and weights, else the states a rollout goes through.
    const target = releases.find((x) => x.version === r.to_release);
    const steps = (target && target.spec && target.spec.deploy && r.strategy === "canary" && target.spec.deploy.canary && target.spec.deploy.canary.steps) || [];
    const states = ["pending", "building", "starting", "shifting", "verifying", "done"];
    let pct;
    const list = $("#rollout-steps");
    if (steps.length) {
      fill(list, ...steps.map((s, i) => el("li", { class: i + 1 < r.step || r.state === "done" ? "past" : i + 1 === r.step ? "now" : "" },
        s.weight + "%" + (s.manual ? " (promote)" : s.pause ? " for " + Math.round(s.pause / 1e9) + "s" : ""))), el("li", { class: r.state === "done" ? "past" : "" }, "100%"));
      pct = r.state === "done" ? 100 : Math.round(100 * Math.max(0, r.step - 1) / (steps.length + 1));
    } else {
      fill(list, ...states.map((s) => el("li", { class: states.indexOf(s) < states.indexOf(r.state) || r.state === "done" ? "past" : s === r.state ? "now" : "" }, s)));
      pct = r.state === "done" ? 100 : Math.round(100 * Math.max(0, states.indexOf(r.state)) / (states.length - 1));
    }
    if (["failed", "rolled_back", "rolling_back"].includes(r.state)) pct = 100;
    const bar = $("#rollout-bar");
    bar.style.width = pct + "%";
    bar.className = ["failed", "rolled_back", "rolling_back"].includes(r.state) ? "bad" : r.state === "done" ? "good" : "busy";
    card.dataset.progress = String(pct);

    // A new rollout, or a stream that broke before the rollout's end: (re)connect.
    if (!this.events || this.events.rollout !== r.id || (this.events.broken && !this.events.ended)) this.follow(r.id);
  }

  // usageOf keeps an instance's readings since the page opened (at most
  // the last 80: two minutes).
  usageOf(inst) {
    let u = this.usage.get(inst.id);
    if (!u) this.usage.set(inst.id, (u = { cpu: [], mem: [] }));
    const rt = inst.runtime || {};
    u.cpu.push(rt.cpu_percent || 0);
    u.mem.push(rt.memory_bytes || 0);
    if (u.cpu.length > 80) { u.cpu.shift(); u.mem.shift(); }
    return u;
  }

  renderInstances(list) {
    const body = $("#instances tbody");
    $("#instances-empty").hidden = list.length > 0;
    const ids = new Set(list.map((i) => i.id));
    for (const id of this.usage.keys()) if (!ids.has(id)) this.usage.delete(id);
    fill(body, ...list.map((inst) => {
      let health = inst.proxy ? (inst.proxy.healthy ? "healthy" : "unhealthy") : "–";
      if (inst.problem) health = "not ready";
      const rt = inst.runtime || {};
      const use = this.usageOf(inst);
      return el("tr", { class: "instance", dataset: { instance: inst.id } },
        el("td", {}, inst.id),
        el("td", {}, "v" + inst.release),
        el("td", {}, el("span", { class: "badge " + (inst.state === "serving" ? "good" : "busy") }, inst.state)),
        el("td", { title: inst.problem || (inst.proxy && inst.proxy.last_error) || "" }, health),
        el("td", { class: "num" }, spark(use.cpu, "#2563eb"), rt.cpu_percent ? rt.cpu_percent.toFixed(1) + "%" : "–"),
        el("td", { class: "num" }, spark(use.mem, "#9333ea"), bytes(rt.memory_bytes)),
        el("td", { class: "num" }, String(rt.restarts || 0)),
        el("td", { class: "num" }, ago(inst.created_at)),
        el("td", { class: "num" }, inst.proxy ? String(inst.proxy.requests) : "–"));
    }));
    const picker = $("#logs-instance");
    const chosen = picker.value;
    fill(picker, el("option", { value: "" }, "all"), ...list.map((i) => el("option", { value: i.id }, i.id)));
    picker.value = list.some((i) => i.id === chosen) ? chosen : "";
  }

  renderReleases(st, releases) {
    const can = new Set(st.actions || []);
    fill($("#releases tbody"), ...releases.map((rel) => el("tr", { dataset: { release: String(rel.version) } },
      el("td", {}, "v" + rel.version),
      el("td", {}, el("span", { class: "badge " + (rel.status === "live" ? "good" : rel.status === "failed" ? "bad" : "off") }, rel.status)),
      el("td", {}, rel.description),
      el("td", {}, new Date(rel.created_at).toLocaleString()),
      el("td", {}, rel.can_roll_back_to && can.has("rollback")
        ? el("button", { class: "rollback", onclick: () => this.rollback(rel.version) }, "Roll back to v" + rel.version)
        : ""))));
  }

  // ---- traffic

  async refreshTraffic() {
    let h;
    try {
      h = await api("GET", appPath(this.name, "/metrics?since=" + $("#traffic-range").value));
    } catch (e) {
      say("traffic: " + e.message, true, "refresh");
      return;
    }
    const served = h.total.requests.some((n) => n > 0);
    $("#traffic-empty").hidden = served;
    let last = -1; // the newest complete step
    for (let i = h.t.length - 1; i >= 0; i--) if (h.total.rps[i] !== null && h.total.requests[i] > 0) { last = i; break; }
    const now = $("#traffic-now");
    now.textContent = last >= 0 ? h.total.rps[last].toFixed(1) + " req/s, " + (100 * (h.total.error_rate[last] || 0)).toFixed(2) + "% errors, p99 " +
      (h.total.p99_ms[last] || 0).toFixed(1) + " ms (" + h.step + " to " + new Date(1000 * (h.t[last])).toLocaleTimeString() + ")" : "";
    now.dataset.rps = last >= 0 ? String(h.total.rps[last]) : "";
    now.dataset.t = last >= 0 ? String(h.t[last]) : "";
    now.dataset.step = String(h.t.length > 1 ? h.t[1] - h.t[0] : 0);
    $("#chart-rps").dataset.points = String(h.t.length);
    $("#chart-rps").dataset.marks = String(h.marks.length);
    this.charts.update(h, this.status && this.status.created_at);
    analysisList(h);
  }

  // ---- the rollout's events

  // follow streams the events of rollout id (Server-Sent Events, read with
  // fetch: EventSource cannot send a header). Lines that repeat the one
  // before (an inconclusive canary) are counted, not repeated.
  async follow(id) {
    if (this.events) this.events.abort.abort();
    const mine = { rollout: id, abort: new AbortController(), ended: false, broken: false };
    this.events = mine;
    const list = $("#events");
    clear(list);
    let kind = "", data = "";
    try {
      await stream(appPath(this.name, "/deploys/" + id + "/events"), mine.abort.signal, (line) => {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
        else if (line === "") {
          if (kind === "end") mine.ended = true;
          if (data && kind !== "end") this.addEvent(list, JSON.parse(data), kind);
          kind = ""; data = "";
        }
      });
    } catch (e) {
      if (e.name !== "AbortError") say("events: " + e.message, true, "refresh");
    }
    // Ended early (a dropped connection, a restarted server): the next
    // refresh reconnects, unless this stream was replaced or aborted.
    if (!mine.ended && !mine.abort.signal.aborted) mine.broken = true;
  }

  addEvent(list, ev, kind) {
    const text = ev.message;
    const prev = list.lastElementChild;
    if (prev && prev.dataset.text === text) {
      const n = Number(prev.dataset.count || 1) + 1;
      prev.dataset.count = String(n);
      prev.querySelector(".count").textContent = " ×" + n;
      return;
    }
    list.append(el("li", { class: "event-" + (ev.kind || kind), dataset: { text } },
      el("time", {}, new Date(ev.time).toLocaleTimeString()), " ", text, el("span", { class: "count" })));
    list.scrollTop = list.scrollHeight;
  }

  // ---- actions

  async act(action) {
    if (asks[action] && !confirm(asks[action](this.name))) return;
    let body;
    if (action === "scale") body = { instances: Number($("#scale-n").value) };
    try {
      const r = await api("POST", appPath(this.name, "/" + action), body);
      say(action + ": " + (r && r.id ? "rollout #" + r.id + " started" : (r && r.result) || "done"));
    } catch (e) {
      say(action + ": " + e.message, true);
    }
    this.refresh();
  }

  async rollback(version) {
    if (!confirm("Roll " + this.name + " back to v" + version + "?")) return;
    try {
      const r = await api("POST", appPath(this.name, "/rollback"), { to: "v" + version });
      say("rollback to v" + version + ": rollout #" + r.id + " started");
    } catch (e) {
      say("rollback: " + e.message, true);
    }
    this.refresh();
  }

  async deploy() {
    const file = $("#upload").files[0];
    if (!file) {
      say("choose a .zip or .tar.gz of the app's source first", true);
      return;
    }
    const bar = $("#deploy-progress");
    bar.hidden = false;
    say("uploading " + file.name + " …");
    try {
      const r = await upload(appPath(this.name, "/deploys"), file, (p) => { bar.value = p; });
      say("deploy: rollout #" + r.id + " started");
    } catch (e) {
      say("deploy: " + e.message, true);
    }
    bar.hidden = true;
    this.refresh();
  }

  // ---- logs

  async loadLogs() {
    if (this.logs) this.logs.abort();
    const abort = new AbortController();
    this.logs = abort;
    const out = $("#logs");
    clear(out);
    const inst = $("#logs-instance").value;
    const follow = $("#logs-follow").checked;
    const q = "?tail=" + encodeURIComponent($("#logs-tail").value || "200") + (follow ? "&follow=1" : "") + (inst ? "&instance=" + encodeURIComponent(inst) : "");
    const filter = logFilter($("#logs-filter").value);
    const times = $("#logs-times").checked;
    let lines = 0;
    try {
      await stream(appPath(this.name, "/logs" + q), abort.signal, (line) => {
        if (filter && !filter(line)) return;
        out.append(el("div", { class: "line" }, times ? el("time", {}, new Date().toLocaleTimeString()) : "", line));
        if (++lines > 5000) out.firstChild.remove();
        out.scrollTop = out.scrollHeight;
      });
    } catch (e) {
      if (e.name !== "AbortError") say("logs: " + e.message, true);
    }
  }

  // ---- env

  async loadEnv() {
    let vars;
    try {
      vars = await api("GET", appPath(this.name, "/env" + (this.revealEnv ? "?reveal=1" : "")));
    } catch (e) {
      say("env: " + e.message, true);
      return;
    }
    const editable = auth.me && auth.me.role !== "viewer";
    fill($("#env tbody"), ...vars.map((v) => el("tr", { dataset: { env: v.name } },
      el("td", {}, el("code", {}, v.name)),
      el("td", { class: "value" }, v.value),
      el("td", {}, editable ? el("button", { onclick: () => { $("#env-name").value = v.name; $("#env-value").value = this.revealEnv ? v.value : ""; $("#env-value").focus(); } }, "Edit") : "",
        editable ? el("button", { class: "danger", onclick: () => this.setEnv({ unset: [v.name] }, "remove " + v.name) }, "Remove") : ""))));
    $("#env-reveal").textContent = this.revealEnv ? "Hide values" : "Reveal values";
  }

  async setEnv(change, what) {
    if (change.unset && !confirm(what + "? The app is rolled out again without it.")) return;
    try {
      const r = await api("POST", appPath(this.name, "/env"), change);
      say("env: " + what + ": rollout #" + r.id + " started");
    } catch (e) {
      say("env: " + e.message, true);
    }
    this.loadEnv();
    this.refresh();
  }

  // ---- settings

  async loadSettings() {
    const st = this.status || (await api("GET", appPath(this.name)).catch(() => null));
    if (!st) return;
    $("#set-domains").value = (st.domains || []).join(" ");
    $("#set-repo").value = (st.source && st.source.repo) || "";
    $("#set-branch").value = (st.source && st.source.branch) || "main";
    $("#set-poll").value = st.source && st.source.poll ? Math.round(st.source.poll / 1e9) + "s" : "";
    $("#set-strategy").textContent = (st.live && st.live.spec && st.live.spec.deploy && st.live.spec.deploy.strategy) || "rolling";
    const remote = location.origin + "/git/" + encodeURIComponent(this.name) + ".git";
    $("#git-remote").textContent = remote;
    $("#git-remote-2").textContent = remote;
    $("#webhook-secret").textContent = "••••••••";
    this.webhook(false);
  }

  async webhook(reveal, rotate) {
    if (auth.me && auth.me.role === "viewer") {
      fill($("#webhook-urls"), el("li", {}, "viewers do not see webhooks"));
      return;
    }
    if (rotate && !confirm("Rotate the webhook secret of " + this.name + "? Forges with the old one are refused until given the new one.")) return;
    try {
      const info = await api("GET", appPath(this.name, "/webhook" + (rotate ? "?rotate=1" : "")));
      fill($("#webhook-urls"), ...Object.entries(info.urls).map(([forge, url]) => el("li", {}, forge + ": ", el("code", {}, url))));
      if (reveal || rotate) $("#webhook-secret").textContent = info.secret;
      if (rotate) say("webhook secret rotated");
    } catch (e) {
      say("webhook: " + e.message, true);
    }
  }

  async saveSettings() {
    const domains = $("#set-domains").value.split(/[\s,]+/).filter(Boolean);
    const body = { domains, repo: $("#set-repo").value.trim(), branch: $("#set-branch").value.trim() || "main", poll: $("#set-poll").value.trim() || "off" };
    try {
      await api("PATCH", appPath(this.name), body);
      say("settings saved");
    } catch (e) {
      say("settings: " + e.message, true);
    }
    this.refresh();
  }
}

// spark draws values as a small line chart, scaled to their own range.
function spark(values, colour) {
  const c = el("canvas", { class: "spark", width: 64, height: 18 });
  if (values.length < 2) return c;
  const ctx = c.getContext("2d");
  const top = Math.max(...values) || 1;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.2;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * (c.width - 2) + 1;
    const y = c.height - 1 - (v / top) * (c.height - 3);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
  return c;
}

// isSet tells whether the server set a time: for one it did not, it sends
// Go's zero time (year 1).
const isSet = (t) => Boolean(t) && new Date(t).getUTCFullYear() > 1;

// logFilter turns the filter box into a test of a line: /re/ is a regular
// expression, anything else a plain substring; empty is none.
function logFilter(s) {
  if (!s) return null;
  const m = s.match(/^\/(.*)\/([i]*)$/);
  if (m) {
    try { const re = new RegExp(m[1], m[2]); return (l) => re.test(l); } catch { /* not one: a substring */ }
  }
  return (l) => l.includes(s);
}

// wire binds the app page's controls once; view() is the page shown.
export function wireAppControls(view) {
  for (const b of $$("#actions [data-action]")) b.addEventListener("click", () => view() && view().act(b.dataset.action));
  $("#deploy-form").addEventListener("submit", (e) => { e.preventDefault(); view() && view().deploy(); });
  $("#traffic-range").addEventListener("change", () => view() && view().refreshTraffic());
  for (const id of ["#logs-instance", "#logs-follow", "#logs-times"]) $(id).addEventListener("change", () => view() && view().loadLogs());
  $("#logs-reload").addEventListener("click", () => view() && view().loadLogs());
  $("#logs-filter").addEventListener("keydown", (e) => { if (e.key === "Enter") view() && view().loadLogs(); });
  $("#env-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("#env-name").value.trim();
    view() && view().setEnv({ set: { [name]: $("#env-value").value } }, "set " + name);
    $("#env-value").value = "";
  });
  $("#env-reveal").addEventListener("click", () => { const v = view(); if (v) { v.revealEnv = !v.revealEnv; v.loadEnv(); } });
  $("#settings-form").addEventListener("submit", (e) => { e.preventDefault(); view() && view().saveSettings(); });
  $("#webhook-reveal").addEventListener("click", () => view() && view().webhook(true));
  $("#webhook-rotate").addEventListener("click", () => view() && view().webhook(false, true));
}
