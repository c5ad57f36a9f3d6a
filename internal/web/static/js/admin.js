// People: users and teams (admins), and one's own API tokens (everyone).
"use strict";

import { api, auth } from "./api.js";
import { $, ago, el, fill, say } from "./dom.js";

export async function refreshAdmin() {
  const admin = auth.me && auth.me.role === "admin";
  for (const id of ["#users", "#user-form", "#team-form", "#member-form"]) $(id).closest(".card").hidden = !admin;
  try {
    const [tokens, teams, users] = await Promise.all([
      api("GET", "/tokens"), api("GET", "/teams"), admin ? api("GET", "/users") : Promise.resolve([]),
    ]);
    fill($("#tokens tbody"), ...tokens.map((t) => el("tr", { dataset: { token: t.name } },
      el("td", {}, t.name), el("td", {}, ago(t.created_at) + " ago"),
      el("td", {}, t.last_used_at ? ago(t.last_used_at) + " ago" : "never"),
      el("td", {}, t.expires_at ? new Date(t.expires_at).toLocaleDateString() : "never"),
      el("td", {}, el("button", { class: "danger", onclick: () => revokeToken(t) }, "Revoke")))));
    fill($("#teams tbody"), ...teams.map((t) => el("tr", { dataset: { team: t.name } }, el("td", {}, t.name), el("td", {}, (t.members || []).join(", ")))));
    fill($("#users tbody"), ...users.map((u) => el("tr", { dataset: { user: u.name } },
      el("td", {}, u.name), el("td", {}, u.role), el("td", {}, (u.teams || []).join(", ")),
      el("td", {}, u.name === auth.me.name ? "" : el("button", { class: "danger", onclick: () => deleteUser(u.name) }, "Delete")))));
  } catch (e) {
    say(e.message, true, "refresh");
  }
}

async function run(what, fn) {
  try {
    const out = await fn();
    say(what);
    refreshAdmin();
    return out;
  } catch (e) {
    say(what + ": " + e.message, true);
    return null;
  }
}

async function revokeToken(t) {
  if (!confirm("Revoke token " + t.name + "? Whatever uses it is refused at once.")) return;
  run("token " + t.name + " revoked", () => api("DELETE", "/tokens/" + t.id));
}

async function deleteUser(name) {
  if (!confirm("Delete user " + name + "? Their tokens and sessions end at once.")) return;
  run("user " + name + " deleted", () => api("DELETE", "/users/" + encodeURIComponent(name)));
}

function showSecret(label, secret) {
  const p = $("#new-token");
  p.hidden = false;
  fill(p, label + " (shown once, copy it now): ", el("code", {}, secret));
}

export function wireAdminControls() {
  $("#token-create-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#new-token-name").value.trim();
    const t = await run("token " + name + " created", () => api("POST", "/tokens", { name }));
    if (t) { showSecret("token " + name, t.token); $("#new-token-name").value = ""; }
  });
  $("#user-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#user-name").value.trim();
    const teams = $("#user-teams").value.split(",").map((s) => s.trim()).filter(Boolean);
    const password = $("#user-password").value;
    $("#user-password").value = "";
    const u = await run("user " + name + " added", () => api("POST", "/users", { name, role: $("#user-role").value, teams, password: password || undefined }));
    if (u) { showSecret("token of " + name, u.token); $("#user-name").value = ""; }
  });
  $("#team-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("#team-name").value.trim();
    run("team " + name + " created", () => api("POST", "/teams", { name })).then((ok) => { if (ok) $("#team-name").value = ""; });
  });
  $("#member-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const team = $("#member-team").value.trim(), user = $("#member-user").value.trim();
    run(user + " added to " + team, () => api("POST", "/teams/" + encodeURIComponent(team) + "/members", { user }));
  });
  $("#member-remove").addEventListener("click", () => {
    const team = $("#member-team").value.trim(), user = $("#member-user").value.trim();
    if (!team || !user || !confirm("Remove " + user + " from " + team + "?")) return;
    run(user + " removed from " + team, () => api("DELETE", "/teams/" + encodeURIComponent(team) + "/members/" + encodeURIComponent(user)));
  });
}
