#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A loopback HTTPS stand-in for a Proxmox VE node's API, for tests.

Serves the answers of a routes file, as pveproxy shapes them
(pve-http-server, PVE::APIServer::Formatter::Standard):
  success   200, {"data": ...}
  error     the status, the message as HTTP reason phrase, and
            {"data": null, "message": "...\\n"} (plus "errors" for a 400)

  pvestub.py --cert C --key K --routes R --log L --port-file P
             [--token USER@REALM!ID --secret S]

routes file, JSON: {"/api2/json/PATH[?QUERY]": ANSWER, ...} where ANSWER is
  any JSON value          served as {"data": ANSWER}
  {"_status": N, "_message": "...", "_errors": {...}}   a Proxmox error
  {"_status": N, "_raw": "text"}                         this body as it is
A path not in the file gets 501 "Method 'GET /...' not implemented", as
pveproxy says.  With --token/--secret, a request whose Authorization header
is not "PVEAPIToken=TOKEN=SECRET" gets 401 "invalid token value!".

Every request is logged to the log file as one JSON line
{"method", "path", "headers"} BEFORE it is answered, and every TLS handshake
that fails as {"tls": "failed", "error": ...}: a test can tell exactly what
reached the server (and that a token did not).
"""
import argparse
import http.server
import json
import socketserver
import ssl
import sys
import threading

LOCK = threading.Lock()


def log(path, entry):
    with LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"

    def setup(self):
        # the handshake happens here, in the handler's thread, so a client
        # that aborts it is logged and the server goes on
        try:
            self.request = self.server.ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log(self.server.log, {"tls": "failed", "error": str(e)})
            self.request.close()
            self.tls_failed = True
            return
        self.tls_failed = False
        super().setup()

    def handle(self):
        if not self.tls_failed:
            super().handle()

    def finish(self):
        if not self.tls_failed:
            super().finish()

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, reason, body):
        raw = body.encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        log(self.server.log, {"method": "GET", "path": self.path, "headers": dict(self.headers)})
        auth = self.headers.get("Authorization", "")
        if self.server.auth and auth != self.server.auth:
            self.send(401, "invalid token value!", json.dumps({"data": None}))
            return
        routes = self.server.routes
        if self.path not in routes:
            msg = "Method 'GET %s' not implemented" % self.path.split("?")[0][len("/api2/json"):]
            self.send(501, msg, json.dumps({"data": None, "message": msg + "\n"}))
            return
        ans = routes[self.path]
        if isinstance(ans, dict) and "_status" in ans:
            status = ans["_status"]
            if "_raw" in ans:
                self.send(status, ans.get("_reason", "OK"), ans["_raw"])
                return
            msg = ans.get("_message", "error")
            body = {"data": None, "message": msg + "\n"}
            if "_errors" in ans:
                body["errors"] = ans["_errors"]
            self.send(status, msg.split("\n")[0], json.dumps(body))
            return
        self.send(200, "OK", json.dumps({"data": ans}))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--routes", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token")
    ap.add_argument("--secret")
    a = ap.parse_args()

    srv = Server(("127.0.0.1", 0), Handler)
    srv.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.ctx.load_cert_chain(a.cert, a.key)
    with open(a.routes, encoding="utf-8") as f:
        srv.routes = json.load(f)
    srv.log = a.log
    srv.auth = "PVEAPIToken=%s=%s" % (a.token, a.secret) if a.token else None
    open(a.log, "a", encoding="utf-8").close()
    with open(a.port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write("%d\n" % srv.server_address[1])
    import os

    os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
