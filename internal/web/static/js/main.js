// nonstop's dashboard: a page over the REST API. It logs in with a name
// and password into a session (an HttpOnly cookie the page never sees, and
// a CSRF token it sends with every change), or with an API token; either
// stays in this tab (sessionStorage). Every value from the server is put
// on the page as text, never as HTML.
"use strict";

import { api, auth } from "./api.js";
import { $, say } from "./dom.js";
import { createApp, loadTeams, refreshApps } from "./apps.js";
import { AppView, wireAppControls } from "./appview.js";
import { refreshAdmin, wireAdminControls } from "./admin.js";

const views = ["login-view", "apps-view", "app-view", "admin-view"];
let current = null; // the AppView shown
let listTimer = null;

function show(view) {
  for (const v of views) $("#" + v).hidden = v !== view;
  $("#logout").hidden = view === "login-view";
  $("#nav").hidden = view === "login-view";
  $("#nav-apps").classList.toggle("active", view === "apps-view" || view === "app-view");
  $("#nav-admin").classList.toggle("active", view === "admin-view");
}

function whoami(me) {
  auth.me = me;
  $("#whoami").textContent = me ? me.name + " (" + me.role + ")" : "";
  $("#nav-admin").hidden = !me;
  $("#nav-admin").textContent = me && me.role === "admin" ? "People" : "Tokens";
}

async function loginToken(e) {
  e.preventDefault();
  auth.useToken($("#token").value.trim());
  $("#token").value = "";
  try {
    whoami(await api("GET", "/whoami"));
    say("");
    route();
  } catch (err) {
    auth.forget();
    say("login failed: " + err.message, true);
  }
}

async function loginPassword(e) {
  e.preventDefault();
  const name = $("#name").value.trim();
  const password = $("#password").value;
  $("#password").value = "";
  try {
    const s = await api("POST", "/login", { name, password });
    auth.useSession(s.csrf);
    whoami({ name: s.name, role: s.role });
    say("");
    route();
  } catch (err) {
    say("login failed: " + err.message, true);
  }
}

async function logout() {
  if (auth.csrf) {
    try { await api("POST", "/logout"); } catch { /* the session ends here all the same */ }
  }
  auth.forget();
  whoami(null);
  route();
}

// route shows the view the address names: #/ (apps), #/apps/NAME[/TAB],
// #/admin.
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  if (listTimer) clearInterval(listTimer);
  listTimer = null;
  if (!auth.loggedIn()) {
    if (current) { current.close(); current = null; }
    show("login-view");
    return;
  }
  if (parts[0] === "apps" && parts[1]) {
    const name = decodeURIComponent(parts[1]);
    if (current && current.name === name) {
      current.showTab(parts[2] || "overview");
      show("app-view");
      return;
    }
    if (current) current.close();
    current = new AppView(name);
    show("app-view");
    current.open();
    return;
  }
  if (current) { current.close(); current = null; }
  if (parts[0] === "admin") {
    show("admin-view");
    refreshAdmin();
    listTimer = setInterval(refreshAdmin, 5000);
    return;
  }
  show("apps-view");
  loadTeams();
  refreshApps();
  listTimer = setInterval(refreshApps, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#token-form").addEventListener("submit", loginToken);
  $("#password-form").addEventListener("submit", loginPassword);
  $("#logout").addEventListener("click", logout);
  $("#create-form").addEventListener("submit", (e) => { e.preventDefault(); createApp(); });
  wireAppControls(() => current);
  wireAdminControls();
  window.addEventListener("hashchange", route);
  if (auth.loggedIn()) {
    api("GET", "/whoami").then((me) => { whoami(me); route(); }).catch(() => logout());
  }
  route();
});
