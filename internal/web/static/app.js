// nonstop's dashboard: a page over the REST API. It logs in with a name
// and password into a session (an HttpOnly cookie the page never sees,
// and a CSRF token it sends with every change), or with an API token; the
// token or the CSRF token stays in this tab (sessionStorage). Every value
// from the server is put on the page as text, never as HTML.
"use strict";

const $ = (sel) => document.querySelector(sel);
const views = ["login-view", "apps-view", "app-view"];

let token = sessionStorage.getItem("nonstop-token") || "";
let csrf = sessionStorage.getItem("nonstop-csrf") || ""; // of a password session

// authHeaders are what every request sends: the API token, or the
// session's CSRF token (its cookie goes by itself).
function authHeaders() {
  if (token) return { Authorization: "Bearer " + token };
  if (csrf) return { "X-CSRF-Token": csrf };
  return {};
}
let poll = null;     // the view's refresh timer
let stream = null;   // { rollout, abort, ended } of the events being streamed
let seq = 0;         // numbers refreshes, so an older answer never overwrites a newer one

function show(view) {
  for (const v of views) $("#" + v).hidden = v !== view;
  $("#logout").hidden = view === "login-view";
}

// say shows the result of an action, or an error. An error from a
// refresh (source "refresh") goes away when a refresh succeeds again.
function say(text, isError, source) {
  const m = $("#message");
  m.textContent = text;
  m.className = isError ? "error" : "";
  m.dataset.source = source || "";
}

function refreshed() {
  const m = $("#message");
  if (m.dataset.source === "refresh") say("");
}

// api calls the REST API; it returns the decoded JSON answer, or throws
// an Error carrying the server's {"error": ...}.
async function api(method, path, body, contentType) {
  const headers = authHeaders();
  if (body !== undefined && contentType === undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  const resp = await fetch("/api/v1" + path, { method, headers, body });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    throw new Error((data && data.error) || resp.status + " " + resp.statusText);
  }
  return data;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

function stopPolling() {
  if (poll) clearInterval(poll);
  poll = null;
}

function every(ms, fn) {
  stopPolling();
  fn();
  poll = setInterval(fn, ms);
}

// ---- login

async function login() {
  token = $("#token").value.trim();
  try {
    const me = await api("GET", "/whoami");
    sessionStorage.setItem("nonstop-token", token);
    csrf = "";
    sessionStorage.removeItem("nonstop-csrf");
    $("#token").value = "";
    $("#whoami").textContent = me.name + " (" + me.role + ")";
    say("");
    route();
  } catch (e) {
    token = "";
    sessionStorage.removeItem("nonstop-token");
    say("login failed: " + e.message, true);
  }
}

async function loginPassword() {
  const name = $("#name").value.trim();
  const password = $("#password").value;
  $("#password").value = "";
  try {
    const s = await api("POST", "/login", { name, password });
    token = "";
    csrf = s.csrf;
    sessionStorage.setItem("nonstop-csrf", csrf);
    $("#whoami").textContent = s.name + " (" + s.role + ")";
    say("");
    route();
  } catch (e) {
    say("login failed: " + e.message, true);
  }
}

async function logout() {
  if (csrf) {
    try { await api("POST", "/logout"); } catch { /* the session ends here all the same */ }
  }
  token = "";
  csrf = "";
  $("#token").value = "";
  sessionStorage.removeItem("nonstop-token");
  sessionStorage.removeItem("nonstop-csrf");
  $("#whoami").textContent = "";
  route();
}

// ---- the app list

async function refreshApps() {
  const my = ++seq;
  let apps;
  try {
    apps = await api("GET", "/apps");
  } catch (e) {
    say(e.message, true, "refresh");
    return;
  }
  if (my !== seq) return; // a newer refresh answered first
  refreshed();
  const body = $("#apps tbody");
  clear(body);
  for (const app of apps) {
    const tr = document.createElement("tr");
    tr.dataset.app = app.name;
    const a = document.createElement("a");
    a.className = "app-link";
    a.href = "#/apps/" + encodeURIComponent(app.name);
    a.textContent = app.name;
    cell(tr, "").appendChild(a);
    cell(tr, app.state);
    cell(tr, app.live_release ? "v" + app.live_release : "none");
    cell(tr, (app.urls || []).join(" "));
    body.appendChild(tr);
  }
}

async function createApp() {
  const name = $("#new-app-name").value.trim();
  try {
    await api("POST", "/apps", { name });
    $("#new-app-name").value = "";
    say("app " + name + " created");
    refreshApps();
  } catch (e) {
    say("create " + name + ": " + e.message, true);
  }
}

// ---- one app

function currentApp() {
  const m = location.hash.match(/^#\/apps\/([^/]+)$/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function refreshApp(name) {
  const my = ++seq;
  let st, releases;
  try {
    [st, releases] = await Promise.all([
      api("GET", "/apps/" + encodeURIComponent(name)),
      api("GET", "/apps/" + encodeURIComponent(name) + "/releases"),
    ]);
  } catch (e) {
    say(e.message, true, "refresh");
    return;
  }
  if (my !== seq || currentApp() !== name) return; // a newer refresh answered first, or the user moved on
  refreshed();
  $("#app-name").textContent = st.name;
  $("#app-state").textContent = st.state;
  $("#live").textContent = st.live ? "v" + st.live.version : "none";
  $("#urls").textContent = (st.urls || []).join(" ");
  const r = st.rollout;
  $("#rollout-state").textContent = r ? r.state : "";
  $("#rollout-info").textContent = r
    ? "#" + r.id + " " + r.kind + " " + (r.strategy || "") + " v" + r.from_release + "→v" + r.to_release +
      (r.step ? ", step " + r.step : "") + (r.reason ? " (" + r.reason + ")" : "")
    : "";
  $("#waiting").textContent = st.waiting || "";
  // A new rollout, or a stream that broke before the rollout's end: (re)connect.
  if (r && (!stream || stream.rollout !== r.id || (stream.broken && !stream.ended))) follow(name, r.id);

  const ib = $("#instances tbody");
  clear(ib);
  for (const inst of st.instances || []) {
    const tr = document.createElement("tr");
    tr.className = "instance";
    cell(tr, inst.id);
    cell(tr, "v" + inst.release);
    cell(tr, inst.state);
    let health = inst.proxy ? (inst.proxy.healthy ? "healthy" : "unhealthy: " + (inst.proxy.last_error || "")) : "-";
    if (inst.problem) health = "not ready: " + inst.problem;
    cell(tr, health);
    cell(tr, inst.addr || "");
    cell(tr, inst.proxy ? String(inst.proxy.requests) : "-");
    ib.appendChild(tr);
  }

  const rb = $("#releases tbody");
  clear(rb);
  for (const rel of releases || []) {
    const tr = document.createElement("tr");
    tr.dataset.release = String(rel.version);
    cell(tr, "v" + rel.version);
    cell(tr, rel.status);
    cell(tr, rel.description);
    cell(tr, new Date(rel.created_at).toLocaleString());
    const btn = document.createElement("button");
    btn.className = "rollback";
    btn.textContent = "roll back to v" + rel.version;
    btn.disabled = st.live && st.live.version === rel.version;
    btn.addEventListener("click", () => rollback(name, rel.version));
    cell(tr, "").appendChild(btn);
    rb.appendChild(tr);
  }
}

// follow streams the events of rollout id (Server-Sent Events, read with
// fetch: EventSource cannot send a header).
async function follow(name, id) {
  if (stream) stream.abort.abort();
  const abort = new AbortController();
  const mine = { rollout: id, abort, ended: false, broken: false };
  stream = mine;
  const list = $("#events");
  clear(list);
  try {
    const resp = await fetch("/api/v1/apps/" + encodeURIComponent(name) + "/deploys/" + id + "/events", {
      headers: authHeaders(), signal: abort.signal,
    });
    if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let kind = "", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) kind = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (kind === "end") mine.ended = true;
        if (!data || kind === "end") continue;
        const ev = JSON.parse(data);
        const li = document.createElement("li");
        li.className = "event-" + (ev.kind || kind);
        li.textContent = new Date(ev.time).toLocaleTimeString() + "  " + ev.message;
        list.appendChild(li);
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") say("events: " + e.message, true, "refresh");
  }
  // Ended early (a dropped connection, a restarted server): the next
  // refresh reconnects, unless this stream was replaced or aborted.
  if (!mine.ended && !abort.signal.aborted) mine.broken = true;
}

// These take traffic away, so they ask first.
const asks = {
  stop: (name) => "Stop " + name + "? Its instances go down until it is started again.",
  abort: (name) => "Abort the rollout of " + name + "? It rolls back to the release before.",
};

async function act(action) {
  const name = currentApp();
  if (asks[action] && !confirm(asks[action](name))) return;
  try {
    const r = await api("POST", "/apps/" + encodeURIComponent(name) + "/" + action);
    say(action + ": " + (r && r.id ? "rollout #" + r.id + " started" : "done"));
  } catch (e) {
    say(action + ": " + e.message, true);
  }
  refreshApp(name);
}

async function rollback(name, version) {
  if (!confirm("Roll " + name + " back to v" + version + "?")) return;
  try {
    const r = await api("POST", "/apps/" + encodeURIComponent(name) + "/rollback", { to: "v" + version });
    say("rollback to v" + version + ": rollout #" + r.id + " started");
  } catch (e) {
    say("rollback: " + e.message, true);
  }
  refreshApp(name);
}

async function deploy() {
  const name = currentApp();
  const file = $("#upload").files[0];
  if (!file) {
    say("choose a .zip or .tar.gz of the app's source first", true);
    return;
  }
  const type = /\.zip$/i.test(file.name) ? "application/zip" : "application/gzip";
  say("uploading " + file.name + " …");
  try {
    const r = await api("POST", "/apps/" + encodeURIComponent(name) + "/deploys", file, type);
    say("deploy: rollout #" + r.id + " started");
  } catch (e) {
    say("deploy: " + e.message, true);
  }
  refreshApp(name);
}

// ---- routing

function route() {
  stopPolling();
  if (stream) { stream.abort.abort(); stream = null; }
  if (!token && !csrf) {
    show("login-view");
    return;
  }
  const name = currentApp();
  if (name) {
    show("app-view");
    clear($("#events"));
    every(1000, () => refreshApp(name));
  } else {
    show("apps-view");
    every(2000, refreshApps);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login").addEventListener("click", login);
  $("#token").addEventListener("keydown", (e) => { if (e.key === "Enter") login(); });
  $("#login-password").addEventListener("click", loginPassword);
  $("#password").addEventListener("keydown", (e) => { if (e.key === "Enter") loginPassword(); });
  $("#logout").addEventListener("click", logout);
  $("#create-app").addEventListener("click", createApp);
  $("#deploy").addEventListener("click", deploy);
  for (const action of ["promote", "pause", "resume", "abort", "stop", "start"]) {
    $("#" + action).addEventListener("click", () => act(action));
  }
  window.addEventListener("hashchange", route);
  if (token || csrf) {
    api("GET", "/whoami").then((me) => {
      $("#whoami").textContent = me.name + " (" + me.role + ")";
    }).catch(() => logout());
  }
  route();
});
