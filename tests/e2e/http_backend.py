#!/usr/bin/env python3
"""tests/e2e/http_backend.py - an HTTP/1.1 upstream for the L7 tests.

Answers every request with a JSON object naming itself and what it got:
{"name", "method", "path", "headers", "body_len", "body_sha256", "conn"}
where conn counts requests on this TCP connection (keep-alive reuse is
visible to the test). Request bodies may be Content-Length or chunked.
Special paths: /big?n=N answers N bytes (chunked, streamed in 64 KiB
pieces); /status/N answers status N. A request with "Upgrade: echo" gets
101 and then an echo of every byte (a stand-in for WebSocket).

Usage: http_backend.py --name NAME --port PORT [--addr ADDR]
Prints "listening" once it accepts.
"""
import argparse
import hashlib
import json
import socketserver
import sys
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Header and body go out in separate writes: without this, Nagle holds
    # the body for the proxy's delayed ACK (40 ms a response).
    disable_nagle_algorithm = True
    server_version = "strait-test"

    def setup(self):
        super().setup()
        self.nreq = 0

    def log_message(self, *args):
        pass

    def read_body(self):
        h = hashlib.sha256()
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                left = size
                while left:
                    d = self.rfile.read(min(left, 65536))
                    if not d:
                        raise ConnectionError("short chunk")
                    h.update(d)
                    n += len(d)
                    left -= len(d)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0") or 0)
            while left:
                d = self.rfile.read(min(left, 65536))
                if not d:
                    raise ConnectionError("short body")
                h.update(d)
                n += len(d)
                left -= len(d)
        return n, h.hexdigest()

    def echo_tunnel(self):
        """Upgrade: echo -> 101, then every byte comes back, until EOF."""
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "echo")
        self.send_header("Connection", "Upgrade")
        self.send_header("X-Backend", self.server.name)
        self.end_headers()
        self.wfile.flush()
        while True:
            d = self.rfile.read1(65536)
            if not d:
                break
            self.wfile.write(d)
            self.wfile.flush()
        self.close_connection = True

    def answer(self):
        self.nreq += 1
        if self.headers.get("Upgrade", "").lower() == "echo":
            return self.echo_tunnel()
        n, digest = self.read_body()
        u = urlparse(self.path)
        if u.path == "/big":
            size = int(parse_qs(u.query).get("n", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Backend", self.server.name)
            self.end_headers()
            block = b"x" * 65536
            left = size
            while left:
                k = min(left, len(block))
                self.wfile.write(b"%x\r\n" % k + block[:k] + b"\r\n")
                left -= k
            self.wfile.write(b"0\r\n\r\n")
            return
        status = 200
        if u.path.startswith("/status/"):
            status = int(u.path.split("/")[2])
        body = json.dumps({
            "name": self.server.name, "method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_len": n, "body_sha256": digest, "conn": self.nreq,
        }).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", self.server.name)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = answer


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--addr", default="0.0.0.0")
    a = ap.parse_args()
    srv = Server((a.addr, a.port), Handler)
    srv.name = a.name
    print("listening", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
