// Small helpers to build the page: every value from the server goes in as
// text, never as HTML.
"use strict";

export const $ = (sel, root) => (root || document).querySelector(sel);
export const $$ = (sel, root) => [...(root || document).querySelectorAll(sel)];

// el makes an element: el("td", {class: "x", dataset: {app: "a"}}, "text", child, ...).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

// fill replaces the children of e with those given.
export function fill(e, ...children) { clear(e); for (const c of children) if (c) e.append(c); }

// say shows the result of an action, or an error; one from a refresh
// ("refresh") goes away when a refresh succeeds again.
export function say(text, isError, source) {
  const m = $("#message");
  m.textContent = text;
  m.className = isError ? "error" : text ? "ok" : "";
  m.dataset.source = source || "";
}

export function refreshed() {
  if ($("#message").dataset.source === "refresh") say("");
}

// badge is the colour class of a state: good, busy, bad, off.
export function tone(state) {
  switch (state) {
    case "running": case "done": case "live": case "serving": case "healthy": case "pass": return "good";
    case "failed": case "rolled_back": case "rolling_back": case "unhealthy": case "fail": return "bad";
    case "stopped": case "retired": case "new": case "exited": return "off";
    default: return "busy";
  }
}

export function setBadge(e, state) {
  e.textContent = state || "";
  e.className = "badge " + (state ? tone(state) : "");
}

export function bytes(n) {
  if (!n) return "–";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

export function ago(t) {
  const s = Math.max(0, (Date.now() - new Date(t).getTime()) / 1000);
  if (s < 60) return Math.round(s) + "s";
  if (s < 3600) return Math.round(s / 60) + "m";
  if (s < 86400) return (s / 3600).toFixed(1) + "h";
  return (s / 86400).toFixed(1) + "d";
}
