# An app on Python's standard http.server: HTTP/1.0 by default, or
# HTTP/1.1 keep-alive when HTTP_VERSION says so.
import http.server
import os
import time
import urllib.parse

VERSION = os.environ.get("VERSION", "1")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = os.environ.get("HTTP_VERSION", "HTTP/1.0")

    def answer(self, body):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-Version", VERSION)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/slow":
            ms = int(urllib.parse.parse_qs(url.query).get("ms", ["300"])[0])
            time.sleep(ms / 1000)
        self.answer("hello from v%s\n" % VERSION)

    def do_POST(self):
        n = len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.answer("got %d bytes, v%s\n" % (n, VERSION))

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
