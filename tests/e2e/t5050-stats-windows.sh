# scen-cache-stats on rows put at known times: which hourly counters fall
# in the last hour, day, week and --since; queue wait quantiles by the
# nearest rank (fresh jobs only); account usage from the ledger, 429s,
# breaker and set-aside; the pool by template and age; and the advice of
# the scaling triggers.
. "$(dirname "$0")/../lib/test-lib.sh"
write_config
# the schema and the template versions, as scen writes them
scen-serve-stdin </dev/null >/dev/null 2>&1
now=$(date +%s)
python3 - scen.db "$now" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
now = float(sys.argv[2])
h = int(now // 3600)
ver = c.execute("SELECT version FROM templates WHERE experiment ="
                " 'trust-2026'").fetchone()[0]
def counter(hour, name, n):
    c.execute("INSERT INTO counters(hour, name, n) VALUES (?, ?, ?)",
              (hour, name, n))
counter(h, "tier.cache", 5)          # the last hour
counter(h - 1, "tier.cache", 1)      # the bucket that overlaps it
counter(h - 5, "tier.fresh", 7)      # the day
counter(h - 30, "tier.pool", 11)     # the week
counter(h - 24 * 8, "tier.relaxed", 13)  # before the week
counter(h, "answer.unavailable", 2)
counter(h, "miss.trust-2026/hiring", 2)
counter(h, "error.invalid_json", 3)
counter(h - 5, "call.ok", 40)
counter(h - 5, "call.429", 4)
counter(h - 9, "call.429", 1)
counter(h - 12, "fresh.no_budget", 6)
def job(i, created, wait, origin="fresh", state="done"):
    started = created + wait if state != "queued" else None
    finished = started + 1 if state == "done" else None
    c.execute("INSERT INTO jobs(jid, state, experiment, template, version,"
              " key, factors, origin, created_at, started_at, finished_at)"
              " VALUES (?, ?, 'trust-2026', 'hiring', ?, x'00', '{}', ?, ?,"
              " ?, ?)", ("j-%d" % i, state, ver, origin, created, started,
                         finished))
# the last hour: waits 1..20 s
for i in range(1, 21):
    job(i, now - 60 * i, float(i))
job(100, now - 7200, 40.0)            # the day
job(101, now - 3 * 86400, 80.0)       # the week
job(102, now - 120, 500.0, "pool")    # a pool job: not a participant's wait
for i in range(3):
    job(200 + i, now - 30 - i, 0, "pool", state="queued")
job(210, now - 5, 1.0, "pool", state="running")
def call(acct, at, status=200):
    c.execute("INSERT INTO calls(account, at, tokens, status)"
              " VALUES (?, ?, 100, ?)", (acct, at, status))
call("groq-a", now - 30)
call("groq-a", now - 50)
call("groq-a", now - 1800)
call("groq-a", now - 20, 429)
call("groq-b", now - 10)
day_start = now // 86400 * 86400
call("groq-b", max(day_start + 1, now - 80000))
c.execute("INSERT INTO accounts(name, breaker, failures, opened_at)"
          " VALUES ('groq-a', 'open', 5, ?)", (now - 5,))
c.execute("INSERT INTO accounts(name, set_aside_until) VALUES ('groq-b', ?)",
          (now + 3600,))
def scn(i, created, serves=0, version=ver, origin="pool"):
    c.execute("INSERT INTO scenarios(sid, experiment, template, version,"
              " key, factors, text, model, prompt_hash, origin, created_at,"
              " serves) VALUES (?, 'trust-2026', 'hiring', ?, x'00', '{}',"
              " 'text', 'm', 'h', ?, ?, ?)",
              ("sc-%d" % i, version, origin, created, serves))
scn(1, now - 86400)
scn(2, now - 2 * 86400)
scn(3, now - 3 * 3600)
scn(4, now - 8 * 86400)               # retired (max_age_days 7)
scn(5, now - 9 * 86400)
scn(6, now - 3600, serves=1)          # served: no longer in the pool
scn(7, now - 3600, version="0" * 32)  # an old template version
scn(8, now - 3600, origin="fresh")
c.commit()
PY
scen-cache-stats --json >s.json 2>s.err
is "exit 0" "$?" 0
jw() { j "r['windows']['$1']$2" s.json; }
is "hour: this and the overlapping bucket" "$(jw hour "['tiers']")" \
	'{"cache": 6, "fresh": 0, "pool": 0, "relaxed": 0}'
is "day" "$(jw day "['tiers']")" \
	'{"cache": 6, "fresh": 7, "pool": 0, "relaxed": 0}'
is "week" "$(jw week "['tiers']")" \
	'{"cache": 6, "fresh": 7, "pool": 11, "relaxed": 0}'
is "hour: requests" "$(jw hour "['requests']")" 11
is "hour: completed of answerable" "$(jw hour "['completed_rate']")" 0.75
is "day: hit rate" "$(jw day "['hit_rate']")" 0.461538
scen-cache-stats --json --since 9d >since.json
is "--since 9d: every bucket" "$(j "r['windows']['since']['tiers']" since.json)" \
	'{"cache": 6, "fresh": 7, "pool": 11, "relaxed": 13}'
scen-cache-stats --json --since "$(date -u -d @$((now - 86400 * 2)) +%Y-%m-%dT%H:%M:%SZ)" >since2.json
is "--since an ISO time" "$(j "r['windows']['since']['tiers']['pool']" since2.json)" 11

is "hour: wait quantiles (nearest rank) of 20 jobs" \
	"$(jw hour "['queue']['wait_s']")" \
	'{"n": 20, "p50": 10.0, "p95": 19.0, "max": 20.0}'
is "day: the 40 s wait" "$(jw day "['queue']['wait_s']['max']")" 40.0
is "week: the 80 s wait" "$(jw week "['queue']['wait_s']['max']")" 80.0
is "hour: processing time" "$(jw hour "['queue']['processing_s']['p50']")" 1.0
is "queue now" "$(j "r['queue']['depth'], r['queue']['queued'], r['queue']['running']" s.json)" \
	"(4, 3, 1)"
check "queue now: the oldest waits" \
	test "$(j "32 <= r['queue']['oldest_queued_s'] < 60" s.json)" = True

acct() { j "[a for a in r['accounts'] if a['name'] == '$1'][0]$2" s.json; }
is "groq-a: minute, hour, day (429 left out)" "$(acct groq-a "['calls']")" \
	"{\"minute\": 2, \"hour\": 3, \"day\": $(python3 -c "
n = $now; d = n // 86400 * 86400
print(sum(1 for t in (n - 30, n - 50, n - 1800) if t >= d))")}"
is "groq-a: 429s today" "$(acct groq-a "['refused_429_today']")" \
	"$(python3 -c "print(int($now - 20 >= $now // 86400 * 86400))")"
is "groq-a: breaker" "$(acct groq-a "['breaker'], r['provider']['breaker']")" \
	"('open', 'closed')"
is "groq-b: set aside" "$(acct groq-b "['set_aside_until'] is not None")" True
is "groq-b: set aside counts as a spent day" "$(acct groq-b "['day_usage']")" 1
is "groq-a: no limit, no usage share" "$(acct groq-a "['day_usage']")" None
is "alerts" "$(j "sorted((a['name'], a['level'], a['subject']) for a in r['alerts'])" s.json)" \
	'[["breaker", "WARNING", "groq-a"], ["key_usage", "WARNING", "groq-b"], ["pool", "WARNING", null], ["queue_wait", "WARNING", null]]'
check "the set-aside account's alert says why" \
	grep -q "account groq-b is set aside until [0-9T:-]*Z: the provider says its daily budget is spent" s.json

is "pool: by template" \
	"$(j "[(p['experiment'], p['available'], p['retired'], p['current']) for p in r['pool']['templates']]" s.json)" \
	'[["other-2026", 0, 0, true], ["trust-2026", 3, 2, true], ["trust-2026", 1, 0, false]]'
is "pool: totals" "$(j "r['pool']['available'], r['pool']['retired'], r['pool']['old_versions']" s.json)" \
	"(3, 2, 1)"
is "pool: oldest age" "$(j "round([p for p in r['pool']['templates'] if p['available'] == 3][0]['oldest_age_s'] / 3600)" s.json)" 48

# advice: the hit rate under the band, limits hit in 3 hours, a long queue
is "advice: below the band, and limits hit in three hours" \
	"$(j "len(r['advice'])" s.json)" 2
advice_has() { j "r['advice'][$1]" s.json | grep -q "$2"; }
check "advice: hit rate names the template with the most misses" \
	advice_has 0 "below the band's floor 60.0%.*Most misses: trust-2026/hiring (2)"
check "advice: limits, with how many were refused or deferred" \
	advice_has 1 "API limits were hit in 3 of the last 24 hours: 5 calls were refused (429) and 6 requests found no account with budget. Add accounts"
python3 - scen.db "$now" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for i in range(100):
    c.execute("INSERT INTO jobs(jid, state, experiment, template, version,"
              " key, factors, origin, created_at) VALUES (?, 'queued',"
              " 'trust-2026', 'hiring', 'v', x'00', '{}', 'pool', ?)",
              ("q-%d" % i, float(sys.argv[2]) - 1))
c.commit()
PY
scen-cache-stats >table.out 2>&1
check "advice: a queue over 100 jobs" grep -q "The queue holds 104 jobs, more than 100: consider a paid tier" table.out
check "the table prints the advice under the alerts" \
	sh -c "sed -n '/^Alerts:/,\$p' table.out | grep -q '^Advice:'"
done_testing
