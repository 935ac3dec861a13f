#!/usr/bin/env python3
"""fake-provider.py - a loopback fake of Groq's OpenAI-compatible chat and Batch API,
for scen tests.

Python 3 standard library only. Binds 127.0.0.1 only. HTTP/1.1 keep-alive, every
response carries Content-Length. Meant to be fast enough for benchmarks.

CLI
  --port N          port to bind (default 0 = any free port)
  --port-file F     write the bound port to F (atomically: tmp file + rename)
  --keys k1,k2      accepted API keys; key_id = index ("0", "1", ...). Any other
                    Bearer -> 401 invalid_api_key. Omitted: every non-empty key is
                    accepted and key_id = "h" + first 8 hex of sha256(key).
                    No key at all -> 401, key_id "-". Keys are never logged.
  --rpm N --rpd N --tpm N   limits PER KEY (0 = unlimited, the default)
  --delay-ms N      base delay (REAL ms) before every completion answer (see Modes)
  --min-chars N     minimum length of a normal answer (default 300)
  --mode M          initial default fault mode (see below; default ok)
  --log F           append one JSON line per completion request received:
                    {"t": real epoch, "vt": virtual epoch, "key_id", "model",
                     "messages", "status"}; status is the HTTP code, or the
                    string "timeout"/"reset" when no full answer was sent.

Endpoints
  POST */chat/completions   (any prefix: /openai/v1, /v1, ...)
  GET  /_health  -> 200 "ok"
  GET  /_stats   -> {"calls", "ok" (200 + finish_reason stop, so refuse/empty
                    count), "good" (genuine ok/slow answers), "status": {"200": n,
                    "429": n, "timeout": n, ...}, "by_key" (every completion request
                    received), "ok_by_key", "prompts" (last 200 user prompts),
                    "mode", "queue", "batches" (see Batch API)}; stats and log are
                    updated BEFORE the answer is sent, so a test may read them as
                    soon as its call returns.
  POST /_control {"mode": M, "count": N, "delay_ms": D, "retry_after": S, "kind": K}
                 without count: M becomes the default mode; with count: the next N
                 completions use M, then the default applies again.
                 {"mode": "script", "script": [M | {"mode": M, ...}, ...]}: the next
                 requests take those modes one by one, then the default is "ok".
                 GET /_control shows the current state.
                 {"batch": {...}} sets Batch API controls (see Batch API); alone it
                 leaves the online mode as it is. The answer shows them as "batch".
  POST /_reset   zero all counters, windows and the answer counter; mode ok; forget
                 every file and batch and the batch controls.

Batch API (Groq's, OpenAI-compatible; any prefix like the chat endpoint)
  POST /openai/v1/files   multipart/form-data purpose=batch, file=@in.jsonl -> file object
                 {"id": "file_...", "object": "file", "bytes", "created_at", "filename",
                 "purpose": "batch"}. Each non-empty line must be {"custom_id" (unique),
                 "method": "POST", "url": "/v1/chat/completions", "body": a valid chat
                 request}; otherwise 400 "invalid batch input file: line N: why".
  GET  /openai/v1/files/{id}[/content]   file object / its bytes (input, output, errors)
  POST /openai/v1/batches  {"input_file_id", "endpoint": "/v1/chat/completions",
                 "completion_window": "24h".."7d", "metadata": {<= 16 strings}} -> batch
                 object, status "validating" (bad field: 400).
  GET  /openai/v1/batches/{id}   the batch now; GET /openai/v1/batches?limit=N&after=ID
                 {"object": "list", "data" (newest first, with metadata), "first_id",
                 "last_id", "has_more"}; POST /openai/v1/batches/{id}/cancel -> "cancelling"
                 (then "cancelled"; 400 when already ended).
  Auth as online (401 ERR invalid_api_key). Files and batches belong to the key_id that
  made them (another key gets 404 / 400). Batch work never touches the online rate-limit
  windows, calls, status or log; it does use the answer counter ("Scenario #n").
  Life (virtual time from creation, so SCEN_CLOCK_SCALE applies): "validating" for the
  first 10 % of delay_s, then "in_progress" (request_counts.completed grows linearly),
  at delay_s "completed" (every line answered) or, with expire_after F, "expired":
  the first int(F * lines) lines are answered, the rest go to the error file with
  {"response": null, "error": {"code": "batch_expired"}} (OpenAI's documented code;
  Groq: an expired batch keeps the results of the requests it completed), and
  expires_at is then created_at + delay_s (else created_at + completion window).
  With fail set the batch ends "failed" after validating, errors.data [{"code":
  "invalid_request", "message": fail}], no files. A cancelled batch keeps the lines
  done by then; the rest: error code "batch_cancelled".
  Output file lines {"id": "batch_req_...", "custom_id", "response": {"status_code":
  200, "request_id", "body": <chat completion as the online endpoint answers, the
  line's mode applied>}, "error": null}; error file lines {"id", "custom_id",
  "response": null or {"status_code": 500, "request_id", "body": {"error": ...}},
  "error": {"code", "message"}}. A file id is null when it would be empty. At the end
  request_counts.completed = output lines, failed = error lines (total = both).
  Controls /_control {"batch": {...}}, kept until changed, read when a batch is
  CREATED (later changes do not touch it):
    delay_s S      virtual seconds from creation to the end (default 0: the first
                   look after creation finds it ended)
    expire_after F fraction in [0, 1) of lines done when the batch expires (null: none)
    error_share E  share of the answered lines that fail (500 internal_server_error)
    line_modes {"refuse": x, "length": y, "empty": z, "badshape": w}: shares of the
                   answered lines answered in that mode. Counts are exact
                   (round(share * answered lines)), the lines picked by a shuffle
                   seeded with the batch id.
    refuse_keys    true | [key ids]: every Batch API call of those keys -> 403
                   {"error": {"code": "not_available_for_plan", "type":
                   "invalid_request_error", ...}} as Groq answers a plan without batch
                   access (seen by a client library against a free account:
                   github.com/jgravelle/GroqApiLibrary pull 22).
    fail "message" batches created from now on fail validation (null: off)
    down           true: every Batch API call -> 503 (the online endpoint unchanged)
  /_stats "batches": {"files_uploaded", "created", "by_input_file": {file id: batches
  created from it}, "lines": {outcome: n} (ok, refuse, length, empty, badshape, error,
  expired, cancelled; counted when a batch ends), "by_status": {status: n}}.

Modes (a mode is consumed by each completion request that passed auth and body
validation): ok; refuse (200, refusal text); length (200, truncated text,
finish_reason "length"); empty (200, content ""); malformed (200, body not JSON);
badshape (200, JSON without "choices"); 500; 503; 429 (retry-after S, default 2,
"requests per minute (RPM)", or "tokens per minute (TPM)" with "kind": "tpm");
429day ("requests per day (RPD)", "Please try again in 9m38.016s" or S);
401; slow (ok after delay_ms, default 3000 real ms); timeout (sleep delay_ms,
default 60000 real ms, then close without answering); reset (200 headers and half
the body, then a TCP RST). A delay_ms given in /_control REPLACES the base
--delay-ms for the requests its mode applies to (so {"mode":"ok","delay_ms":0}
makes a --delay-ms fake fast); without it slow waits 3000 ms, timeout 60000 ms
and every other mode the base --delay-ms.
Modes ok/slow/refuse/length/empty/malformed/badshape/reset go through the rate
limits (they may turn into a 429) and count as used; the other modes do not.

Rate limits (per key_id, virtual time)
  rpm: requests in the last 60 s (sliding). rpd: requests in the last 86400 s
  (SLIDING window, not the calendar day, so resets are deterministic in tests).
  tpm: tokens in the last 60 s; tokens = ceil(chars of all message contents / 4)
  + completion tokens (ceil(answer chars / 4)). A request is refused when the
  window is full, or for tpm when used + its prompt tokens > tpm (prompt alone
  > tpm -> 413 "Request too large"). A 429 is not counted as used.
  Headers on 200 and 429: x-ratelimit-limit-requests (rpd, else 1e9),
  x-ratelimit-remaining-requests (per day), x-ratelimit-reset-requests (until the
  oldest request of the day window expires), x-ratelimit-limit-tokens (tpm, else
  1e9), x-ratelimit-remaining-tokens (per minute), x-ratelimit-reset-tokens
  (until the minute window is empty). An UNLIMITED budget is reported as always
  fully remaining with reset "0s", so clients never throttle on it.
  Durations are Go style ("940ms", "7.66s", "2m0s", "1h2m3.5s"); retry-after is
  ceil(seconds), at least 1.

Time scaling
  SCEN_CLOCK_SCALE=K (default 1), SCEN_CLOCK_EPOCH=E (real epoch s, default the
  process start): virtual now = E + (real_now - E) * K. Windows, "created",
  retry-after and reset values are virtual seconds; delays are REAL ms.

Example
  tests/lib/fake-provider.py --port-file $T/port --keys k0,k1 --rpm 30 & pid=$!
  ... base_url http://127.0.0.1:$(cat $T/port)/openai/v1 ...
  curl -s -XPOST 127.0.0.1:$port/_control -d '{"mode":"503","count":2}'
  kill $pid; wait $pid
"""
import argparse, collections, hashlib, json, math, os, random, re, signal, socket, struct
import socketserver, sys, threading, time, traceback, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = {"ok", "refuse", "length", "empty", "malformed", "badshape", "500", "503",
         "429", "429day", "401", "slow", "timeout", "reset"}
LIMITED = {"ok", "slow", "refuse", "length", "empty", "malformed", "badshape", "reset"}
DEFAULT_DELAY = {"slow": 3000.0, "timeout": 60000.0}
# what an unlimited budget reports as its limit and what remains: so large
# that a client learning limits from headers is never held back by it
UNLIMITED = 1000000000
REFUSAL = "I'm sorry, but I cannot help with that. As an AI, I can't write this."
FILLER = (
    "The meeting room was quiet and the afternoon light fell across the table. ",
    "A clock ticked softly on the wall while the papers were sorted into piles. ",
    "Outside, the street was busy with people walking home from work. ",
    "The coffee in the kitchen had gone cold an hour ago. ",
    "Someone had left a window open, and a light breeze moved the curtains. ",
    "The notes on the whiteboard described the plan in careful detail. ",
)
BANNED = re.compile(r"as an ai|i can[’']?t|i cannot", re.I)
MAX_BODY = 16 << 20
ERR_401 = {"error": {"message": "Invalid API Key", "type": "invalid_request_error",
                     "code": "invalid_api_key"}}
RL_NAMES = {"rpm": ("requests per minute (RPM)", "requests"),
            "rpd": ("requests per day (RPD)", "requests"),
            "tpm": ("tokens per minute (TPM)", "tokens")}


def godur(sec):
    """Go time.Duration.String() at millisecond precision."""
    ms = int(round(max(0.0, sec) * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return "%dms" % ms
    h, rem = divmod(ms, 3600000)
    m, rem = divmod(rem, 60000)
    s = ("%d.%03d" % divmod(rem, 1000)).rstrip("0").rstrip(".")
    return ("%dh" % h if h else "") + ("%dm" % m if h or m else "") + s + "s"


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def content_text(c):
    if isinstance(c, str):
        return c
    if isinstance(c, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in c if isinstance(p, dict)
                       and isinstance(p.get("text", ""), str))
    return ""


def validate(req):
    if not isinstance(req, dict):
        return "request body must be a JSON object"
    if not isinstance(req.get("model"), str) or not req["model"]:
        return "'model' : property 'model' is missing"
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "'messages' : property 'messages' is missing or empty"
    for m in msgs:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) \
                or not isinstance(m.get("content"), (str, list)):
            return "'messages' : each message needs a string 'role' and a 'content'"
    return None


def banned(text):
    low = text.lower()  # plain substring tests: ~20x cheaper than a regex here
    return "as an ai" in low or "i can" in low and BANNED.search(low) is not None


def make_text(n, user, min_chars):
    user = user.strip()
    text = "Scenario #%d. %s" % (n, BANNED.sub("[...]", user) if banned(user) else user)
    parts, size, i = [text, " "], len(text) + 1, n % len(FILLER)
    while size < min_chars:
        parts.append(FILLER[i])
        size += len(FILLER[i])
        i = (i + 1) % len(FILLER)
    text = "".join(parts).strip()
    return BANNED.sub("[...]", text) if banned(text) else text


class Clock:
    def __init__(self):
        self.k = float(os.environ.get("SCEN_CLOCK_SCALE") or 1)
        self.e = float(os.environ.get("SCEN_CLOCK_EPOCH") or time.time())

    def now(self):
        return self.e + (time.time() - self.e) * self.k


class Window:
    """Per-key sliding windows: request times (minute, day) and [time, tokens]."""
    __slots__ = ("m", "d", "t", "tsum")

    def __init__(self):
        self.m, self.d, self.t, self.tsum = (collections.deque(), collections.deque(),
                                             collections.deque(), 0)

    def prune(self, now):
        m, d, t = self.m, self.d, self.t
        while m and m[0] <= now - 60:
            m.popleft()
        while d and d[0] <= now - 86400:
            d.popleft()
        while t and t[0][0] <= now - 60:
            self.tsum -= t.popleft()[1]


class State:
    def __init__(self, a):
        self.a, self.clock, self.lock = a, Clock(), threading.Lock()
        self.keys = {k: str(i) for i, k in enumerate(a.keys)} if a.keys else None
        self.logf = open(a.log, "a", buffering=1, encoding="utf-8") if a.log else None
        self.log_lock = threading.Lock()
        self.reset(a.mode)

    def reset(self, mode="ok"):
        self.n = self.calls = self.ok = self.good = 0
        self.status, self.by_key, self.ok_by_key = (collections.Counter() for _ in "abc")
        self.prompts = collections.deque(maxlen=200)
        self.wins = {}
        self.default, self.queue = self.spec(mode), collections.deque()
        self.batch = Batches(self)

    def key_id(self, key):
        if not key:
            return "-", False
        if self.keys is not None:
            kid = self.keys.get(key)
            return (kid, True) if kid is not None else (self.hash(key), False)
        return self.hash(key), True

    @staticmethod
    def hash(key):
        return "h" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:8]

    @staticmethod
    def spec(c, inherit=None):
        c = {"mode": c} if isinstance(c, str) else dict(c)
        for k, v in (inherit or {}).items():
            c.setdefault(k, v)
        m = str(c.get("mode", "ok"))
        if m not in MODES:
            raise ValueError("unknown mode %r" % m)
        s = {"mode": m}
        for k in ("delay_ms", "retry_after"):
            if c.get(k) is not None:
                s[k] = float(c[k])
        if c.get("kind") is not None:
            s["kind"] = "tpm" if str(c["kind"]).lower().startswith("t") else "rpm"
        return s

    def control(self, c):
        with self.lock:
            if "batch" in c:
                self.batch.cfg = batch_config(self.batch.cfg, c["batch"])
                if len(c) == 1:
                    return dict(self.control_state(), batch=self.batch.cfg)
            if c.get("mode") == "script":
                if not isinstance(c.get("script"), list):
                    raise ValueError("'script' must be a list of modes")
                inh = {k: c[k] for k in ("delay_ms", "retry_after", "kind") if k in c}
                q = [self.spec(x, inh) for x in c["script"]]
                self.default, self.queue = self.spec("ok"), collections.deque(q)
            elif c.get("count") is not None:
                self.queue = collections.deque([self.spec(c)] * int(c["count"]))
            else:
                self.default, self.queue = self.spec(c), collections.deque()
            return dict(self.control_state(), batch=self.batch.cfg)

    def control_state(self):
        return {"mode": self.default, "queue": [s["mode"] for s in self.queue]}

    def next_mode(self):
        with self.lock:
            return self.queue.popleft() if self.queue else self.default

    def stats(self):
        with self.lock:
            return {"calls": self.calls, "ok": self.ok, "good": self.good,
                    "status": dict(self.status), "by_key": dict(self.by_key),
                    "ok_by_key": dict(self.ok_by_key), "prompts": list(self.prompts),
                    "batches": self.batch.stats(), **self.control_state()}

    def window(self, kid, now):
        w = self.wins.get(kid)
        if w is None:
            w = self.wins[kid] = Window()
        w.prune(now)
        return w

    def rl_headers(self, w, now):
        a = self.a
        if a.rpd:
            req = (a.rpd, max(0, a.rpd - len(w.d)), godur(w.d[0] + 86400 - now) if w.d else "0s")
        else:
            req = (UNLIMITED, UNLIMITED, "0s")
        if a.tpm:
            tok = (a.tpm, max(0, a.tpm - w.tsum), godur(w.t[-1][0] + 60 - now) if w.t else "0s")
        else:
            tok = (UNLIMITED, UNLIMITED, "0s")
        return {"x-ratelimit-limit-requests": req[0], "x-ratelimit-remaining-requests": req[1],
                "x-ratelimit-reset-requests": req[2], "x-ratelimit-limit-tokens": tok[0],
                "x-ratelimit-remaining-tokens": tok[1], "x-ratelimit-reset-tokens": tok[2]}

    def headers_for(self, kid):
        with self.lock:
            now = self.clock.now()
            return self.rl_headers(self.window(kid, now), now)

    def answer(self, kid, req, mode, ptok, user):
        """Apply the limits, then build a 200-type answer. -> (code, body, headers, finish)."""
        a, model = self.a, req["model"]
        with self.lock:
            now = self.clock.now()
            w = self.window(kid, now)
            err = None
            if a.rpd and len(w.d) >= a.rpd:
                err = rl_error(model, "rpd", a.rpd, len(w.d), 1, w.d[0] + 86400 - now)
            elif a.rpm and len(w.m) >= a.rpm:
                err = rl_error(model, "rpm", a.rpm, len(w.m), 1, w.m[0] + 60 - now)
            elif a.tpm and ptok > a.tpm:
                msg = ("Request too large for model `%s` in organization `org_x` on tokens per "
                       "minute (TPM): Limit %d, Requested %d, please reduce your message size "
                       "and try again. Visit https://console.groq.com/docs/rate-limits for more "
                       "information." % (model, a.tpm, ptok))
                err = {"error": {"message": msg, "type": "tokens", "code": "rate_limit_exceeded"}}
                return 413, err, self.rl_headers(w, now), None
            elif a.tpm and w.tsum + ptok > a.tpm:
                need, wait = w.tsum + ptok - a.tpm, 0.0
                for t, n in w.t:
                    need -= n
                    wait = t + 60 - now
                    if need <= 0:
                        break
                err = rl_error(model, "tpm", a.tpm, w.tsum, ptok, wait)
            if err:
                h = self.rl_headers(w, now)
                h.update(err[1])
                return 429, err[0], h, None
            self.n += 1
            n = self.n
            text, finish = self.reply_text(n, mode, user)
            ctok = (len(text) + 3) // 4
            if a.rpm:
                w.m.append(now)
            if a.rpd:
                w.d.append(now)
            if a.tpm:
                if w.t and now - w.t[-1][0] < 0.05:  # merge bursts: keeps the deque short
                    w.t[-1][0] = now
                    w.t[-1][1] += ptok + ctok
                else:
                    w.t.append([now, ptok + ctok])
                w.tsum += ptok + ctok
            headers = self.rl_headers(w, now)
        return 200, completion_body(n, model, mode, text, finish, ptok, now), headers, finish

    def reply_text(self, n, mode, user):
        """The answer text of a 200-type mode and its finish_reason."""
        if mode == "refuse":
            return REFUSAL, "stop"
        if mode == "empty":
            return "", "stop"
        text = make_text(n, user, self.a.min_chars)
        return (text[:max(20, len(text) // 2)], "length") if mode == "length" else (text, "stop")

    def record(self, kid, req, status, finish=None, mode=None):
        with self.lock:
            self.status[str(status)] += 1
            if status == 200 and finish == "stop" and mode in ("ok", "slow", "refuse", "empty"):
                self.ok += 1
                self.ok_by_key[kid] += 1
                self.good += mode in ("ok", "slow")
        if self.logf:
            line = {"t": round(time.time(), 3), "vt": round(self.clock.now(), 3), "key_id": kid,
                    "model": req.get("model") if isinstance(req, dict) else None,
                    "messages": req.get("messages") if isinstance(req, dict) else None,
                    "status": status}
            with self.log_lock:
                self.logf.write(json.dumps(line, ensure_ascii=False) + "\n")


def completion_body(n, model, mode, text, finish, ptok, now):
    """A chat completion as the online endpoint answers it (badshape/malformed spoil it)."""
    ctok = (len(text) + 3) // 4
    body = {"id": "chatcmpl-%d" % n, "object": "chat.completion", "created": int(now),
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant",
            "content": text}, "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": ptok, "completion_tokens": ctok,
                      "total_tokens": ptok + ctok},
            "system_fingerprint": "fp_fake", "x_groq": {"id": "req_fake%08d" % n}}
    if mode == "badshape":
        del body["choices"]
    elif mode == "malformed":
        body = b'{"choices": [ {"message": '
    return body


def rl_error(model, kind, limit, used, requested, wait, org="org_x"):
    label, typ = RL_NAMES[kind]
    msg = ("Rate limit reached for model `%s` in organization `%s` on %s: Limit %d, Used %d, "
           "Requested %d. Please try again in %s. Visit https://console.groq.com/docs/"
           "rate-limits for more information." % (model, org, label, limit, used, requested,
                                                  godur(wait)))
    return ({"error": {"message": msg, "type": typ, "code": "rate_limit_exceeded"}},
            {"retry-after": max(1, math.ceil(round(wait, 3)))})


BATCH_MODES = ("refuse", "length", "empty", "badshape")  # modes a batch line may answer with
BATCH_DEFAULTS = {"delay_s": 0.0, "expire_after": None, "error_share": 0.0, "line_modes": {},
                  "refuse_keys": False, "fail": None, "down": False}
ERR_403_PLAN = {"error": {"message": "The batch API is not available on your current plan. "
                          "Upgrade to the Developer tier at "
                          "https://console.groq.com/settings/billing to use it.",
                          "type": "invalid_request_error",
                          "code": "not_available_for_plan"}}
LINE_ERRORS = {  # error-file lines of requests that got no answer (OpenAI's codes)
    "expired": ("batch_expired", "This request could not be executed before the completion "
                "window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed because the batch was "
                  "cancelled.")}
WINDOW = re.compile(r"^([1-9][0-9]*)([hd])$")
BATCH_PATH = re.compile(r"/(files|batches)(?:/([^/]+)(?:/(content|cancel))?)?$")
BATCH_ROUTES = {("POST", "files", False, None), ("GET", "files", True, None),
                ("GET", "files", True, "content"), ("POST", "batches", False, None),
                ("GET", "batches", False, None), ("GET", "batches", True, None),
                ("POST", "batches", True, "cancel")}


class BatchError(Exception):
    def __init__(self, code, msg, body=None):
        super().__init__(msg)
        self.code, self.body = code, body or {"error": {"message": msg,
                                                        "type": "invalid_request_error"}}


def new_id(prefix):
    return prefix + os.urandom(13).hex()


def batch_config(cfg, c):
    """cfg updated by the /_control "batch" object c (a bad value: ValueError, cfg unchanged)."""
    if not isinstance(c, dict):
        raise ValueError("'batch' must be an object")
    new = dict(cfg, **c)
    bad = set(c) - set(BATCH_DEFAULTS)
    if bad:
        raise ValueError("unknown batch control %s" % ", ".join(sorted(bad)))
    new["delay_s"] = float(new["delay_s"])
    new["error_share"] = float(new["error_share"])
    if new["expire_after"] is not None:
        new["expire_after"] = float(new["expire_after"])
        if not 0 <= new["expire_after"] < 1:
            raise ValueError("batch expire_after must be in [0, 1)")
    if not isinstance(new["line_modes"], dict) or set(new["line_modes"]) - set(BATCH_MODES):
        raise ValueError("batch line_modes: an object of %s -> share" % "/".join(BATCH_MODES))
    new["line_modes"] = {m: float(v) for m, v in new["line_modes"].items()}
    shares = [new["error_share"]] + list(new["line_modes"].values())
    if new["delay_s"] < 0 or min(shares) < 0 or sum(shares) > 1:
        raise ValueError("batch delay_s must be >= 0 and the shares in [0, 1], summing to <= 1")
    rk = new["refuse_keys"]
    if not isinstance(rk, (bool, list)):
        raise ValueError("batch refuse_keys: true, false or a list of key ids")
    new["refuse_keys"] = rk if isinstance(rk, bool) else [str(k) for k in rk]
    if new["fail"] is not None and not isinstance(new["fail"], str):
        raise ValueError("batch fail: a message, or null")
    if not isinstance(new["down"], bool):
        raise ValueError("batch down: true or false")
    return new


def parse_multipart(ctype, raw):
    """{name: (filename or None, bytes)} of a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', ctype or "")
    if not ctype.lower().startswith("multipart/form-data") or not m:
        raise BatchError(400, "the request must be multipart/form-data")
    parts = {}
    for part in raw.split(b"--" + m.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        disp = re.search(rb'name="([^"]*)"(?:; *filename="([^"]*)")?', head)
        if disp:
            fname = disp.group(2).decode("utf-8", "replace") if disp.group(2) is not None else None
            parts[disp.group(1).decode("utf-8", "replace")] = (fname, data[:-2]
                                                               if data.endswith(b"\r\n") else data)
    return parts


def parse_batch_lines(data):
    """The requests of a batch input file; a bad line: BatchError 400 naming it."""
    lines, seen = [], set()
    for i, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            ln = json.loads(raw)
        except ValueError:
            ln = None
        err = None
        if not isinstance(ln, dict):
            err = "not a JSON object"
        elif not isinstance(ln.get("custom_id"), str) or not ln["custom_id"]:
            err = "'custom_id' must be a non-empty string"
        elif ln["custom_id"] in seen:
            err = "duplicate custom_id %r" % ln["custom_id"]
        elif ln.get("method") != "POST":
            err = "'method' must be \"POST\""
        elif ln.get("url") != "/v1/chat/completions":
            err = "'url' must be \"/v1/chat/completions\""
        else:
            err = validate(ln.get("body"))
        if err:
            raise BatchError(400, "invalid batch input file: line %d: %s" % (i, err))
        seen.add(ln["custom_id"])
        lines.append(ln)
    if not lines:
        raise BatchError(400, "invalid batch input file: no requests in it")
    return lines


class Batches:
    """Files and batches of the Batch API, under the State's lock, per key_id."""

    def __init__(self, st):
        self.st = st
        self.reset()

    def reset(self):
        self.cfg, self.files, self.batches, self.order = dict(BATCH_DEFAULTS), {}, {}, []
        self.by_input, self.lines = collections.Counter(), collections.Counter()
        self.uploaded = 0

    def stats(self):
        return {"files_uploaded": self.uploaded, "created": len(self.order),
                "by_input_file": dict(self.by_input), "lines": dict(self.lines),
                "by_status": dict(collections.Counter(self.view(b)["status"]
                                                      for b in self.batches.values()))}

    def refused(self, kid):
        rk = self.cfg["refuse_keys"]
        return rk is True or isinstance(rk, list) and kid in rk

    def add_file(self, kid, name, purpose, data, lines=None):
        f = {"id": new_id("file_"), "object": "file", "bytes": len(data),
             "created_at": int(self.st.clock.now()), "filename": name, "purpose": purpose}
        self.files[f["id"]] = (kid, f, data, lines)
        return f

    def upload(self, kid, ctype, raw):
        parts = parse_multipart(ctype, raw)
        if parts.get("purpose", (None, b""))[1].strip() != b"batch":
            raise BatchError(400, "'purpose' must be \"batch\"")
        if "file" not in parts:
            raise BatchError(400, "'file' : a file part is required")
        name, data = parts["file"]
        lines = parse_batch_lines(data)
        self.uploaded += 1
        return self.add_file(kid, name or "upload.jsonl", "batch", data, lines)

    def file(self, kid, fid):
        f = self.files.get(fid)
        if f is None or f[0] != kid:
            raise BatchError(404, "file %r not found" % fid)
        return f

    def create(self, kid, req):
        if not isinstance(req, dict):
            raise BatchError(400, "request body must be a JSON object")
        fid = req.get("input_file_id")
        f = self.files.get(fid) if isinstance(fid, str) else None
        if f is None or f[0] != kid or f[3] is None:
            raise BatchError(400, "'input_file_id' : no batch input file %r" % (fid,))
        if req.get("endpoint") != "/v1/chat/completions":
            raise BatchError(400, "'endpoint' must be \"/v1/chat/completions\"")
        w = WINDOW.match(str(req.get("completion_window", "")))
        win = int(w.group(1)) * (3600 if w.group(2) == "h" else 86400) if w else 0
        if not 86400 <= win <= 7 * 86400:
            raise BatchError(400, "'completion_window' must be between \"24h\" and \"7d\"")
        meta = req.get("metadata")
        if meta is not None and (not isinstance(meta, dict) or len(meta) > 16 or not all(
                isinstance(v, str) for v in meta.values())):
            raise BatchError(400, "'metadata' : at most 16 string values")
        now, cfg = self.st.clock.now(), dict(self.cfg)
        ends = now + cfg["delay_s"]
        b = {"id": new_id("batch_"), "object": "batch", "endpoint": req["endpoint"],
             "errors": None, "input_file_id": fid, "completion_window": req["completion_window"],
             "status": "validating", "output_file_id": None, "error_file_id": None,
             "created_at": int(now), "in_progress_at": None,
             "expires_at": int(ends if cfg["expire_after"] is not None else now + win),
             "finalizing_at": None, "completed_at": None, "failed_at": None, "expired_at": None,
             "cancelling_at": None, "cancelled_at": None,
             "request_counts": {"total": len(f[3]), "completed": 0, "failed": 0},
             "metadata": meta}
        self.batches[b["id"]] = {"kid": kid, "b": b, "t0": now, "cfg": cfg, "lines": f[3]}
        self.order.append(b["id"])
        self.by_input[fid] += 1
        return dict(b)

    def get(self, kid, bid):
        r = self.batches.get(bid)
        if r is None or r["kid"] != kid:
            raise BatchError(404, "batch %r not found" % bid)
        return r

    def view(self, r):
        """The batch object now: moves it on with the virtual clock."""
        b, cfg = r["b"], r["cfg"]
        if b["status"] in ("completed", "expired", "failed", "cancelled"):
            return b
        now, t0, d = self.st.clock.now(), r["t0"], cfg["delay_s"]
        if b["status"] == "cancelling":
            return self.finish(r, "cancelled", r["done"], now)
        if now - t0 < 0.1 * d:
            return b
        if cfg["fail"] is not None:
            b.update(status="failed", failed_at=int(t0 + 0.1 * d), errors={"object": "list",
                     "data": [{"code": "invalid_request", "message": cfg["fail"],
                               "param": None, "line": None}]})
            return b
        b["in_progress_at"] = int(t0 + 0.1 * d)
        if now - t0 < d:
            b["status"] = "in_progress"
            b["request_counts"]["completed"] = int(self.target(r) * (now - t0) / d)
            return b
        return self.finish(r, "completed" if cfg["expire_after"] is None else "expired",
                           self.target(r), t0 + d)

    @staticmethod
    def target(r):
        """How many lines the batch answers before it ends."""
        f, n = r["cfg"]["expire_after"], len(r["lines"])
        return n if f is None else int(f * n)

    def cancel(self, kid, bid):
        r = self.get(kid, bid)
        b = self.view(r)
        if b["status"] in ("completed", "expired", "failed", "cancelled", "cancelling"):
            raise BatchError(400, "cannot cancel a batch with status %r" % b["status"])
        now = self.st.clock.now()
        r["done"] = int(self.target(r) * min(1.0, (now - r["t0"]) / r["cfg"]["delay_s"])) \
            if b["status"] == "in_progress" else 0
        b.update(status="cancelling", cancelling_at=int(now))
        return dict(b)

    def outcomes(self, r, done):
        """Each answered line's outcome: exact shares, spread by a per-batch shuffle."""
        cfg, out = r["cfg"], []
        for mode, share in [("error", cfg["error_share"])] + sorted(cfg["line_modes"].items()):
            out += [mode] * int(round(share * done))
        out = out[:done] + ["ok"] * (done - len(out))
        random.Random(r["b"]["id"]).shuffle(out)
        return out

    def finish(self, r, status, done, when):
        b, st = r["b"], self.st
        outs, errs = [], []
        for ln, oc in zip(r["lines"], self.outcomes(r, done) + [status] * len(r["lines"])):
            self.lines[oc] += 1
            outs_or_errs, line = self.answer_line(ln, oc, when)
            (outs if outs_or_errs else errs).append(line)
        for key, lines, purpose in (("output_file_id", outs, "batch_output"),
                                    ("error_file_id", errs, "batch_errors")):
            if lines:
                data = b"".join(jdump(x) + b"\n" for x in lines)
                b[key] = self.add_file(r["kid"], "batch_%s.jsonl" % purpose, purpose, data)["id"]
        rc = b["request_counts"]
        rc["completed"], rc["failed"] = len(outs), len(errs)
        b.update(status=status, finalizing_at=int(when), **{status + "_at": int(when)})
        del r["lines"]  # the answers are in the files now
        return b

    def answer_line(self, ln, oc, when):
        """-> (True, output line) or (False, error line) for one request of the input file."""
        st, rid = self.st, new_id("batch_req_")
        if oc in LINE_ERRORS:
            code, msg = LINE_ERRORS[oc]
            return False, {"id": rid, "custom_id": ln["custom_id"], "response": None,
                           "error": {"code": code, "message": msg}}
        st.n += 1
        n, req = st.n, ln["body"]
        if oc == "error":
            err = {"message": "Internal Server Error", "type": "internal_server_error"}
            return False, {"id": rid, "custom_id": ln["custom_id"], "response": {
                "status_code": 500, "request_id": "req_fake%08d" % n, "body": {"error": err}},
                "error": {"code": "internal_server_error", "message": err["message"]}}
        msgs = req["messages"]
        user = next((content_text(m["content"]) for m in reversed(msgs)
                     if m["role"] == "user"), "")
        ptok = (sum(len(content_text(m["content"])) for m in msgs) + 3) // 4
        text, finish = st.reply_text(n, oc, user)
        body = completion_body(n, req["model"], oc, text, finish, ptok, when)
        return True, {"id": rid, "custom_id": ln["custom_id"], "response": {
            "status_code": 200, "request_id": "req_fake%08d" % n, "body": body}, "error": None}

    def listing(self, kid, query):
        q = urllib.parse.parse_qs(query)
        try:
            limit = min(100, max(1, int(q.get("limit", ["20"])[0])))
        except ValueError:
            raise BatchError(400, "'limit' must be an integer")
        ids = [i for i in reversed(self.order) if self.batches[i]["kid"] == kid]
        after = q.get("after", [None])[0]
        if after is not None:
            ids = ids[ids.index(after) + 1:] if after in ids else []
        data = [dict(self.view(self.batches[i])) for i in ids[:limit]]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": len(ids) > limit}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-groq/1"
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are dropped after this

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        """A lean HTTP/1.1 request parser (http.server's email-based one costs ~100 us)."""
        self.close_connection, self.request_version = True, "HTTP/1.1"
        try:
            line = self.rfile.readline(65537)
            if not line:
                return
            parts = line.decode("latin-1").split()
            hdrs = {}
            while True:
                h = self.rfile.readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                hdrs[k.strip().lower()] = v.strip()
                if len(hdrs) > 200 or len(h) > 65536:
                    return self.error(431, "request header fields too large")
            if len(line) > 65536 or len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                return self.error(400, "bad request line")
            self.command, self.path, self.request_version = parts
            self.headers, conn = hdrs, hdrs.get("connection", "").lower()
            self.close_connection = "close" in conn or (parts[2] == "HTTP/1.0"
                                                        and "keep-alive" not in conn)
            if hdrs.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.close_connection = True
                return self.error(405, "method not allowed")
            method()
        except socket.timeout:
            self.close_connection = True

    def send(self, code, body, headers=None, ctype="application/json", half=False):
        """One write per response (no Nagle stalls); half=True: cut the body, then RST."""
        if not isinstance(body, bytes):
            body = jdump(body) if ctype == "application/json" else str(body).encode()
        head = ["HTTP/1.1 %d %s" % (code, self.responses.get(code, ("",))[0]),
                "Content-Type: " + ctype, "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in (headers or {}).items()]
        if self.close_connection or half:
            head.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            head.append("Connection: keep-alive")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode()
                         + (body[:len(body) // 2] if half else body))
        if half:
            time.sleep(0.02)  # let the half body leave before the RST
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()

    def read_body(self):
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        n = int(self.headers.get("content-length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n) if n else b""

    def error(self, code, msg, typ="invalid_request_error"):
        return self.send(code, {"error": {"message": msg, "type": typ}})

    def batch_api(self, st, raw=b""):
        """The Batch API (files and batches); False when the path is not one of its."""
        path, _, query = self.path.partition("?")
        m = BATCH_PATH.search(path)
        if not m or (self.command, m.group(1), bool(m.group(2)), m.group(3)) not in BATCH_ROUTES:
            return False
        auth = self.headers.get("authorization", "")
        kid, key_ok = st.key_id(auth[7:].strip() if auth[:7].lower() == "bearer " else "")
        what, ident, sub = m.groups()
        with st.lock:
            try:
                if not key_ok:
                    raise BatchError(401, "", ERR_401)
                if st.batch.refused(kid):
                    raise BatchError(403, "", ERR_403_PLAN)
                if st.batch.cfg["down"]:
                    raise BatchError(503, "", {"error": {
                        "message": "Service Unavailable", "type": "internal_server_error"}})
                code, body, ctype = 200, None, "application/json"
                if what == "files" and self.command == "POST":
                    body = st.batch.upload(kid, self.headers.get("content-type", ""), raw)
                elif what == "files":
                    f = st.batch.file(kid, ident)
                    body, ctype = (f[2], "application/octet-stream") if sub else (f[1], ctype)
                elif sub == "cancel":
                    body = st.batch.cancel(kid, ident)
                elif ident:
                    body = st.batch.view(st.batch.get(kid, ident))
                elif self.command == "GET":
                    body = st.batch.listing(kid, query)
                else:
                    try:
                        req = json.loads(raw)
                    except ValueError:
                        req = None
                    body = st.batch.create(kid, req)
                body = body if isinstance(body, bytes) else jdump(body)  # under the lock
            except BatchError as e:
                code, body, ctype = e.code, jdump(e.body), "application/json"
            except Exception as e:  # never leave a client hanging on our own bug
                traceback.print_exc()
                code, ctype = 500, "application/json"
                body = jdump({"error": {"message": "fake-provider internal error: %s" % e,
                                        "type": "internal_error"}})
        self.send(code, body, ctype=ctype)
        return True

    def do_GET(self):
        st, path = self.server.st, self.path.split("?")[0]
        if self.batch_api(st):
            return
        if path == "/_health":
            self.send(200, b"ok", ctype="text/plain")
        elif path == "/_stats":
            self.send(200, st.stats())
        elif path == "/_control":
            with st.lock:
                state = st.control_state()
            self.send(200, state)
        else:
            self.error(404, "Unknown request URL: GET %s" % path)

    def do_POST(self):
        st, path = self.server.st, self.path.split("?")[0]
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return self.error(400, "could not read the request body")
        if path.endswith("/chat/completions"):
            try:
                return self.completion(st, raw)
            except (ConnectionError, socket.timeout):
                raise
            except Exception as e:  # never leave a client hanging on our own bug
                traceback.print_exc()
                self.close_connection = True
                return self.error(500, "fake-provider internal error: %s" % e, "internal_error")
        if self.batch_api(st, raw):
            return
        if path in ("/_control", "/_reset"):
            try:
                c = json.loads(raw or b"{}")
                if not isinstance(c, dict):
                    raise ValueError("control body must be a JSON object")
                if path == "/_reset":
                    with st.lock:
                        st.reset()
                        state = st.control_state()
                    return self.send(200, state)
                return self.send(200, st.control(c))
            except (ValueError, TypeError) as e:
                return self.error(400, str(e))
        self.error(404, "Unknown request URL: POST %s. Please check the URL for typos." % path)

    def completion(self, st, raw):
        try:
            req = json.loads(raw)
        except ValueError:
            req = None
        auth = self.headers.get("authorization", "")
        kid, key_ok = st.key_id(auth[7:].strip() if auth[:7].lower() == "bearer " else "")
        err = validate(req)
        msgs = req["messages"] if err is None else []
        user = next((content_text(m["content"]) for m in reversed(msgs)
                     if m["role"] == "user"), "")
        with st.lock:
            st.calls += 1
            st.by_key[kid] += 1
            if err is None:
                st.prompts.append(user)
        if not key_ok or err:  # stats/log are updated before answering: no race in tests
            st.record(kid, req, 401 if not key_ok else 400)
            return self.send(401, ERR_401) if not key_ok else self.error(400, err)
        spec = st.next_mode()
        mode = spec["mode"]
        delay = spec.get("delay_ms", DEFAULT_DELAY.get(mode, st.a.delay_ms)) / 1000.0
        finish, headers = None, None
        if mode in LIMITED:
            ptok = (sum(len(content_text(m["content"])) for m in msgs) + 3) // 4
            code, body, headers, finish = st.answer(kid, req, mode, ptok, user)
        elif mode == "timeout":
            time.sleep(delay)
            self.close_connection = True  # close without an answer
            return st.record(kid, req, "timeout")
        elif mode == "401":
            code, body = 401, ERR_401
        elif mode in ("500", "503"):
            code = int(mode)
            body = {"error": {"message": "Internal Server Error" if code == 500 else
                              "Service Unavailable: the model is over capacity, retry later",
                              "type": "internal_server_error" if code == 500 else
                              "service_unavailable"}}
        else:  # 429, 429day
            day, kind = mode == "429day", spec.get("kind", "rpm")
            wait = spec.get("retry_after", 578.016 if day else 2.0)
            lim = (st.a.rpd or UNLIMITED) if day else (st.a.tpm or UNLIMITED) if kind == "tpm" \
                else (st.a.rpm or UNLIMITED)
            tok = kind == "tpm" and not day
            body, h = rl_error(req["model"], "rpd" if day else kind, lim, lim - 50 if tok else lim,
                               120 if tok else 1, wait)
            headers, code = st.headers_for(kid), 429
            headers.update(h)
        if delay > 0:
            time.sleep(delay)
        half = code == 200 and mode == "reset"
        st.record(kid, req, "reset" if half else code, finish, mode)
        self.send(code, body, headers, half=half)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def server_bind(self):  # skip HTTPServer's getfqdn() (a DNS lookup)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # client went away: not our problem
            traceback.print_exc()


def main():
    p = argparse.ArgumentParser(description="Loopback fake of Groq's chat API (see file header).")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--keys", type=lambda s: [k for k in s.split(",") if k], default=None)
    for lim in ("rpm", "rpd", "tpm"):
        p.add_argument("--" + lim, type=int, default=0)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--min-chars", type=int, default=300)
    p.add_argument("--mode", default="ok", choices=sorted(MODES))
    p.add_argument("--log")
    a = p.parse_args()
    try:
        st = State(a)
    except (ValueError, OSError) as e:
        p.error(str(e))
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.st = st
    if a.port_file:
        tmp = "%s.tmp.%d" % (a.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.replace(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
