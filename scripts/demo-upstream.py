#!/usr/bin/env python3
"""A tiny upstream for the README demo.

Answers every request, whatever its method or path, with 200 and a pretty-printed JSON body listing the request
line and every header it received, in order, so you can see what SessionGate forwards (X-User-ID and friends).

    scripts/demo-upstream.py --port 9001
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-upstream"

    def __getattr__(self, name):
        # BaseHTTPRequestHandler dispatches to do_<METHOD>; answer every method the same way.
        if name.startswith("do_"):
            return self.echo
        raise AttributeError(name)

    def echo(self):
        body = self.read_body()
        payload = {
            "request_line": self.requestline,
            "client": f"{self.client_address[0]}:{self.client_address[1]}",
            "headers": [f"{name}: {value}" for name, value in self.headers.items()],
            "body_bytes": len(body),
        }
        data = (json.dumps(payload, indent=2) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


def main():
    parser = argparse.ArgumentParser(description="Echo every request as JSON (the README demo's upstream).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9001, help="port to listen on (default 9001)")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), EchoHandler)
    print(f"demo upstream listening on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
