// An app on Node's http module, with its default keep-alive (5 s).
const http = require("http");
const version = process.env.VERSION || "1";

http.createServer((req, res) => {
  const url = new URL(req.url, "http://app");
  const answer = (body) => {
    res.setHeader("Content-Type", "text/plain");
    res.setHeader("X-Version", version);
    res.end(body);
  };
  if (req.method === "POST") {
    let n = 0;
    req.on("data", (chunk) => { n += chunk.length; });
    req.on("end", () => answer(`got ${n} bytes, v${version}\n`));
    return;
  }
  const ms = url.pathname === "/slow" ? Number(url.searchParams.get("ms") || 300) : 0;
  setTimeout(() => answer(`hello from v${version}\n`), ms);
}).listen(Number(process.env.PORT), "127.0.0.1");
