#!/usr/bin/env python3
"""batch-proxy.py PORTFILE UPSTREAM_PORT RULE: an HTTP proxy on 127.0.0.1
before the fake provider, for the batch tests (t3110, t3113). RULE:
  create-502   the first POST .../batches is forwarded (the provider creates
               the batch) and its answer replaced by 502, as a gateway that
               timed out after the backend acted would answer.
  create-400   every POST .../batches answered 400 (not forwarded), as a
               provider that rejects the creation for good would answer.
"""
import http.client, http.server, json, sys, threading

portfile, upstream, rule = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
done = {"n": 0}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def relay(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n) if n else None
        if rule == "create-400" and self.command == "POST" and \
                self.path.rstrip("/").endswith("/batches"):
            data = json.dumps({"error": {"message": "invalid completion_window",
                                         "type": "invalid_request_error"}}).encode()
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ("host", "accept-encoding", "connection")}
        c = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data, status, ctype = r.read(), r.status, r.getheader("content-type", "")
        c.close()
        if rule == "create-502" and self.command == "POST" and \
                self.path.rstrip("/").endswith("/batches"):
            with lock:
                done["n"] += 1
                first = done["n"] == 1
            if first:
                status, ctype = 502, "application/json"
                data = json.dumps({"error": {"message": "Bad Gateway"}}).encode()
        self.send_response(status)
        self.send_header("content-type", ctype or "application/octet-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = relay


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
