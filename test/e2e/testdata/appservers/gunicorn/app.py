# A WSGI app, served by Debian's gunicorn with sync workers.
import os
import time
import urllib.parse

VERSION = os.environ.get("VERSION", "1")


def app(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        n = len(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        body = "got %d bytes, v%s\n" % (n, VERSION)
    else:
        if environ["PATH_INFO"] == "/slow":
            ms = int(urllib.parse.parse_qs(environ["QUERY_STRING"]).get("ms", ["300"])[0])
            time.sleep(ms / 1000)
        body = "hello from v%s\n" % VERSION
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Version", VERSION), ("Content-Length", str(len(data)))])
    return [data]
