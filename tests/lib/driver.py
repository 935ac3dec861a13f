#!/usr/bin/env python3
"""driver.py - talks to a running scen-serve-stdin the way a study's backend
does: writes request lines, reads answers as they come, and times them.

    import driver
    d = driver.Serve(["scen-serve-stdin", "--async"])
    d.send({"id": "r1", ...}); a = d.wait(lambda r: r["id"] == "r1")
    d.close()            # EOF, then collects the remaining answers
"""
import json, os, select, subprocess, time


class Serve:
    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=open("driver.err", "ab"), env=env)
        self.buf = b""
        self.answers = []       # (time read, answer)
        self.sent = {}          # id -> time sent

    def send(self, req):
        if isinstance(req, dict):
            self.sent[req.get("id")] = time.monotonic()
            line = json.dumps(req)
        else:
            line = req
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def _read(self, timeout):
        fd = self.p.stdout.fileno()
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return False
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.answers.append((time.monotonic(), json.loads(line)))
        return True

    def wait(self, pred, timeout=20):
        """The first answer (not yet taken) matching pred, or None."""
        end = time.monotonic() + timeout
        seen = 0
        while True:
            for i in range(seen, len(self.answers)):
                t, a = self.answers[i]
                if pred(a) and not a.get("_taken"):
                    a["_taken"] = True
                    return a, t
            seen = len(self.answers)
            left = end - time.monotonic()
            if left <= 0 or self._read(left) is None:
                return None, None

    def close(self, timeout=60):
        self.p.stdin.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end and self._read(end - time.monotonic()):
            pass
        return self.p.wait(timeout)

    def kill(self):
        self.p.kill()
        self.p.wait()
