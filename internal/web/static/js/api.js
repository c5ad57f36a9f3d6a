// The REST API, as the page calls it: a token (the API token typed in, or
// a password session's CSRF token, whose cookie goes by itself) kept in
// this tab only.
"use strict";

export const auth = {
  token: sessionStorage.getItem("nonstop-token") || "",
  csrf: sessionStorage.getItem("nonstop-csrf") || "",
  me: null, // {name, role} once known

  loggedIn() { return Boolean(this.token || this.csrf); },
  useToken(t) {
    this.token = t; this.csrf = "";
    sessionStorage.setItem("nonstop-token", t); sessionStorage.removeItem("nonstop-csrf");
  },
  useSession(csrf) {
    this.token = ""; this.csrf = csrf;
    sessionStorage.setItem("nonstop-csrf", csrf); sessionStorage.removeItem("nonstop-token");
  },
  forget() {
    this.token = ""; this.csrf = ""; this.me = null;
    sessionStorage.removeItem("nonstop-token"); sessionStorage.removeItem("nonstop-csrf");
  },
  headers() {
    if (this.token) return { Authorization: "Bearer " + this.token };
    if (this.csrf) return { "X-CSRF-Token": this.csrf };
    return {};
  },
};

// api calls the REST API and returns its decoded JSON answer, or throws an
// Error carrying the server's {"error": ...}. A body that is not a Blob is
// sent as JSON.
export async function api(method, path, body, contentType) {
  const headers = auth.headers();
  if (body !== undefined && !(body instanceof Blob)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  const resp = await fetch("/api/v1" + path, { method, headers, body });
  return decode(resp.ok, resp.status, resp.statusText, await resp.text());
}

function decode(ok, status, statusText, text) {
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!ok) throw new Error((data && data.error) || status + " " + statusText);
  return data;
}

// upload sends a file with its progress reported to onProgress (0..100):
// fetch cannot report an upload's progress, XMLHttpRequest can.
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1" + path);
    for (const [k, v] of Object.entries(auth.headers())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Content-Type", /\.zip$/i.test(file.name) ? "application/zip" : "application/gzip");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(Math.round(100 * e.loaded / e.total)); };
    xhr.onload = () => {
      try { resolve(decode(xhr.status < 300, xhr.status, xhr.statusText, xhr.responseText)); } catch (e) { reject(e); }
    };
    xhr.onerror = () => reject(new Error("the upload failed: the server closed the connection"));
    xhr.send(file);
  });
}

// stream reads a streamed answer (logs, Server-Sent Events) line by line
// until it ends or signal aborts it.
export async function stream(path, signal, onLine) {
  const resp = await fetch("/api/v1" + path, { headers: auth.headers(), signal });
  if (!resp.ok) decode(false, resp.status, resp.statusText, await resp.text());
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let end;
    while ((end = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, end));
      buf = buf.slice(end + 1);
    }
  }
  if (buf) onLine(buf);
}

export const appPath = (name, rest) => "/apps/" + encodeURIComponent(name) + (rest || "");
