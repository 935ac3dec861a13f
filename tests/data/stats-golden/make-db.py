#!/usr/bin/env python3
"""make-db.py DB NOW — fills a scen database (made by scen-gen, with the
template rows of scen.yaml) with fixed rows around the moment NOW (epoch
seconds), so that scen-cache-stats run at NOW (SCEN_CLOCK_SCALE=1e-300,
SCEN_CLOCK_EPOCH=NOW) writes the same bytes every time. Every section has
something: the tiers over the week, accounts near, at and without their
limits, breakers open and closed, queue waits, errors of each kind, the
pool by template and age (and an old template version), and alerts.
No randomness: every figure follows from the hour's number."""
import sqlite3
import sys

path, now = sys.argv[1], float(sys.argv[2])
c = sqlite3.connect(path, isolation_level=None)
c.execute("BEGIN")
ver = {(e, t): v for v, e, t in c.execute(
    "SELECT version, experiment, template FROM templates")}
hiring = ver[("trust-2026", "hiring")]
brief = ver[("pool-2026", "brief")]
now_hour = int(now // 3600)

# ---- hourly counters: 168 hours back, the shape following the hour -----
counters = {}


def count(hour, name, n):
    if n:
        counters[(hour, name)] = counters.get((hour, name), 0) + n


outcomes = ["ok", "invalid", "malformed", "429", "5xx", "timeout",
            "connect", "auth", "400"]
for back in range(168):
    h = now_hour - back
    k = back % 24
    busy = 4 + (k * 7) % 13           # 4..16 answers an hour
    count(h, "tier.cache", busy * 2)
    count(h, "tier.fresh", busy + (5 if back < 24 else 0))
    count(h, "tier.pool", k % 3)
    count(h, "tier.relaxed", 1 if k % 4 == 0 else 0)
    count(h, "answer.ok", busy * 3)
    count(h, "variety.forced", 1 if k % 5 == 0 else 0)
    count(h, "stored.fresh", busy)
    count(h, "stored.pool", 2 if k == 3 else 0)
    count(h, "queue.submitted", busy + 1)
    count(h, "queue.done", busy)
    count(h, "queue.failed", 1 if k % 6 == 0 else 0)
    count(h, "queue.cancelled", 1 if k % 11 == 0 else 0)
    for i, o in enumerate(outcomes):
        n = busy if o == "ok" else (1 if (k + i) % 9 == 0 else 0)
        count(h, "call." + o, n)
        acct = ["groq-a", "groq-b", "groq-c"][(k + i) % 3]
        count(h, "account.%s.%s" % (acct, o), n)
    for i, r in enumerate(["empty", "truncated", "too_short", "too_long",
                           "refusal"]):
        count(h, "invalid." + r, 1 if (k + i) % 10 == 0 else 0)
    count(h, "error.invalid_json", 1 if k % 8 == 0 else 0)
    count(h, "error.unknown_template", 1 if k % 12 == 5 else 0)
    count(h, "answer.unavailable", 1 if k % 7 == 0 else 0)
    count(h, "miss.trust-2026/hiring", 1 if k % 7 == 0 else 0)
    count(h, "miss.pool-2026/brief", 1 if back == 30 else 0)
    # refusals in a few hours of the last day: the advice to add accounts
    if back < 24 and k % 5 == 1:
        count(h, "call.429", 2)
        count(h, "fresh.no_budget", 1)
        count(h, "queue.no_budget", 1 if k % 2 else 0)
    count(h, "fresh.deadline", 1 if k == 13 else 0)
    count(h, "account.set_aside", 1 if back == 2 else 0)
    count(h, "breaker.open", 1 if back in (0, 40) else 0)
# the last hour: a poor hit rate, failing calls, unavailable answers
count(now_hour, "tier.fresh", 12)
count(now_hour, "call.5xx", 4)
count(now_hour, "call.timeout", 2)
count(now_hour, "answer.unavailable", 3)
count(now_hour, "miss.trust-2026/hiring", 3)
c.executemany("INSERT INTO counters(hour, name, n) VALUES (?,?,?)",
              ((h, n, v) for (h, n), v in sorted(counters.items())))

# ---- scenarios: served fresh ones, and the pool -------------------------
scen = []


def scenario(exp, tpl, version, origin, created, serves, pos=1):
    i = len(scen) + 1
    scen.append((i, "sc-%016x" % i, exp, tpl, version, b"k%05d" % i,
                 '{"gender":"female"}', pos, "Scenario %d." % i,
                 "llama-3.1-8b-instant", "groq-a", "0123456789abcdef",
                 origin, "stop", 40, 80, created, serves))
    return i


for i in range(40):
    scenario("trust-2026", "hiring", hiring, "fresh",
             now - 3600 * (i * 4 + 1), 1 + i % 3)
# brief: available at ages from 1 h to 6.5 days, and retired ones
for i in range(30):
    scenario("pool-2026", "brief", brief, "pool",
             now - 3600 * (1 + i * 5.2), 0, 1 + i % 3)
for i in range(5):
    scenario("pool-2026", "brief", brief, "pool",
             now - 86400 * (8 + i), 0)
scenario("pool-2026", "brief", brief, "pool", now - 7200, 2)   # served
# an older version of brief, no longer in the config
for i in range(4):
    scenario("pool-2026", "brief", "0ld0ld0ld0ld0ld0", "pool",
             now - 86400 * (1 + i), 0)
c.executemany("INSERT INTO scenarios(id, sid, experiment, template,"
              " version, key, factors, position, text, model, account,"
              " prompt_hash, origin, finish_reason, prompt_tokens,"
              " completion_tokens, created_at, serves) VALUES"
              " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", scen)

# ---- servings: fresh ones of the last day (where the misses are) --------
serv = []
for i in range(25):
    tier = "fresh" if i % 2 else "cache"
    tpl = ("trust-2026", "hiring", hiring, 1 + i % 40)
    if i % 5 == 0:
        tpl = ("pool-2026", "brief", brief, 71)
    serv.append(("r-%d" % i, "s-%d" % i, tpl[0], tpl[1], tpl[2],
                 '{"gender":"female"}', 1, tier, 1.0, tpl[3], "groq-a",
                 12.5, now - 1800 * i - 60))
c.executemany("INSERT INTO servings(request_id, session, experiment,"
              " template, version, factors, position, tier, similarity,"
              " scenario, account, latency_ms, served_at) VALUES"
              " (?,?,?,?,?,?,?,?,?,?,?,?,?)", serv)

# ---- jobs: fresh ones over the week, slow in the last hour; pool jobs
# (left out of the waits); 101 queued and 3 running now ----------------
jobs = []


def job(state, origin, created, wait, proc):
    i = len(jobs) + 1
    started = created + wait if wait is not None else None
    finished = started + proc if proc is not None else None
    jobs.append((i, "j-%016x" % i, state, "hiring", hiring, b"k", "{}",
                 origin, created, started, finished))


for i in range(300):
    back = i * 1999 % (7 * 86400 - 7200) + 3700
    job("done", "fresh", now - back, 0.1 + (i % 17) * 0.35,
        0.5 + (i % 5) * 0.25)
for i in range(20):
    job("done", "fresh", now - 60 * (i + 2), 4 + i * 1.5, 1.25)
job("failed", "fresh", now - 1500, 2.5, None)
for i in range(10):
    job("done", "pool", now - 600 * (i + 1), 300, 2)
for i in range(101):
    job("queued", "fresh", now - 40 + i * 0.25, None, None)
for i in range(3):
    job("running", "fresh", now - 30, 3 + i, None)
c.executemany("INSERT INTO jobs(id, jid, state, experiment, template,"
              " version, key, factors, origin, created_at, started_at,"
              " finished_at) VALUES (?,?,?,'trust-2026',?,?,?,?,?,?,?,?)",
              jobs)

# ---- calls: the usage ledger of each account ----------------------------
calls = []
for i in range(38):      # groq-a: 38 of 40 today, 3 in the last minute
    calls.append(("groq-a", now - 15 - i * 300, 700, 200))
for i in range(3):
    calls.append(("groq-a", now - 200 - i * 900, 0, 429))
for i in range(12):      # groq-b: set aside by the provider
    calls.append(("groq-b", now - 120 - i * 1200, 650, 200))
calls.append(("groq-b", now - 100, 0, 429))
for i in range(5):       # groq-c: no daily limit
    calls.append(("groq-c", now - 30 - i * 4000, 500, 200))
calls.append(("groq-a", now - 86400 * 2, 700, 200))  # another day
c.executemany("INSERT INTO calls(account, at, tokens, status)"
              " VALUES (?,?,?,?)", calls)

# ---- accounts and the provider: cooling, set aside, breakers open, a key
# refused ---------------------------------------------------------------
c.execute("DELETE FROM accounts")
c.executemany(
    "INSERT INTO accounts(name, cooldown_until, set_aside_until, breaker,"
    " failures, opened_at, day_remaining, day_seen_at, day_reset_at)"
    " VALUES (?,?,?,?,?,?,?,?,?)",
    [("groq-a", now + 30, 0, "closed", 1, 0, None, None, None),
     ("groq-b", 0, now + 4 * 3600, "open", 5, now - 10, 0, now - 100,
      now + 4 * 3600),
     ("groq-c", 0, 0, "closed", 0, 0, 120, now - 30, now + 3600),
     ("*provider", 0, 0, "open", 7, now - 5, None, None, None)])
# groq-c's key was refused by the provider (its key is not in the
# environment of the stats run, so the stored verdict stands)
c.execute("UPDATE accounts SET key_fp = '00112233445566ff',"
          " key_verdict = 'refused', key_verdict_at = ? WHERE name = 'groq-c'",
          (now - 600,))
c.execute("COMMIT")
c.close()
