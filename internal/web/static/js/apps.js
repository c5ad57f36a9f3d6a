// The list of apps a user may see, as cards, and the form that creates
// one: empty, from a zip (uploaded with its progress shown), or from a git
// repository that is then fetched, polled or pushed to.
"use strict";

import { api, appPath, auth, upload } from "./api.js";
import { $, el, fill, refreshed, say, setBadge } from "./dom.js";

export async function refreshApps() {
  let apps;
  try {
    apps = await api("GET", "/apps");
  } catch (e) {
    say(e.message, true, "refresh");
    return;
  }
  refreshed();
  $("#apps-empty").hidden = apps.length > 0;
  fill($("#apps"), ...apps.map((app) => {
    const state = el("span", {});
    setBadge(state, app.state);
    return el("a", { class: "app-card card app-link", href: "#/apps/" + encodeURIComponent(app.name), dataset: { app: app.name } },
      el("div", { class: "title-row" }, el("h2", {}, app.name), el("span", { class: "spacer" }), state),
      el("p", {}, app.live_release ? "v" + app.live_release + " live" : "not deployed yet"),
      el("p", { class: "hint" }, (app.urls || [])[0] || ""));
  }));
}

export async function loadTeams() {
  if (!auth.me) return;
  let teams = [];
  try { teams = await api("GET", "/teams"); } catch { return; }
  const mine = auth.me.role === "admin" ? teams : teams.filter((t) => (t.members || []).includes(auth.me.name));
  $("#new-app-team-label").hidden = mine.length < 2;
  fill($("#new-app-team"), ...mine.map((t) => el("option", { value: t.name }, t.name)));
}

export async function createApp() {
  const name = $("#new-app-name").value.trim();
  const team = $("#new-app-team-label").hidden ? undefined : $("#new-app-team").value;
  const repo = $("#new-app-repo").value.trim();
  const zip = $("#new-app-zip").files[0];
  try {
    await api("POST", "/apps", { name, team });
    let done = "app " + name + " created";
    if (repo) {
      const branch = $("#new-app-branch").value.trim() || "main";
      const poll = $("#new-app-poll").value.trim() || "off";
      await api("PATCH", appPath(name), { repo, branch, poll });
      const run = await api("POST", appPath(name, "/deploys"), { git: { url: repo, ref: "refs/heads/" + branch } });
      done += "; run #" + run.run + " fetches " + branch;
    } else if (zip) {
      const bar = $("#create-progress");
      bar.hidden = false;
      const r = await upload(appPath(name, "/deploys"), zip, (p) => { bar.value = p; });
      bar.hidden = true;
      done += "; rollout #" + r.id + " started";
    }
    for (const id of ["#new-app-name", "#new-app-repo", "#new-app-branch", "#new-app-poll", "#new-app-zip"]) $(id).value = "";
    say(done);
    if (repo || zip) location.hash = "#/apps/" + encodeURIComponent(name);
  } catch (e) {
    $("#create-progress").hidden = true;
    say("create " + name + ": " + e.message, true);
  }
  refreshApps();
}
