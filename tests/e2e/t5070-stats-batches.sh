# scen-cache-stats: the batches of scen-pool-fill (open, completed,
# expired, failed or cancelled; their lines by state and those given up at
# pool.batch_attempts; the oldest open one's age; the keys refused for
# batches) and the pool's runway at the last 7 days' pace, exactly, in the
# table, JSON, Prometheus and HTML; --check warns of a batch open past its
# completion window (batch_overdue, WARNING, exit 1) and not once none is.
# The database is made by serving (so the schema is the real one), then
# rows of a known situation are added with SQL that both SQLite and
# PostgreSQL run; on PostgreSQL the JSON figures are the same. The clock
# is stopped at NOW (SCEN_CLOCK_SCALE=1e-300 from SCEN_CLOCK_EPOCH).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
fake_start
write_pool_config
echo "alerts: {pool_min: 0}" >>"$SCEN_CONFIG"
{ req a1 s1; req a2 s2 male; } | scen-serve-stdin >serve.out 2>serve.err
is "served two requests" "$(j 'r["status"]' serve.out | tr '\n' ' ')" "ok ok "
NOW=$(date +%s)
H=3600

# situation SQL: the rows added, on either database. The pool: 21 unserved
# entries of trust-2026/hiring an hour old; 8 pool servings, 100000 s
# apart, 6 of them in the last 7 days (604800 s): 6/7 a day, 24.5 days.
# The batches (window 24 h): b1 submitted 26 h ago (open 2 h past its
# window; planned 30 h ago, the oldest open), b2 submitted 9 h ago, b3
# planned 2 h ago; b4 completed, b5 expired, b6 failed, b7 cancelled. The
# lines: 4 pending, 3 done, 5 failed (2 rejected, 2 failed, 1 expired) of
# which 3 are at attempt 3 or beyond and not retried. Keys: groq-b and an
# account no longer configured refused for batches, groq-a accepted.
situation() {
	cat <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 21)
INSERT INTO scenarios(sid, experiment, template, version, key, factors,
 position, text, model, prompt_hash, origin, created_at, text_hash)
 SELECT 'pool-' || i, experiment, template, version, key, factors, position,
 text, model, prompt_hash, 'pool', $NOW - $H, text_hash
 FROM scenarios, n WHERE scenarios.id = 1;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8)
INSERT INTO servings(request_id, session, experiment, template, version,
 factors, position, tier, similarity, scenario, latency_ms, served_at)
 SELECT 'p' || i, 'ps' || i, experiment, template, version, factors,
 position, 'pool', 1, id, 1, $NOW - i * 100000 + 1
 FROM scenarios, n WHERE scenarios.id = 1;
INSERT INTO batches(id, bid, account, state, batch_id, status, lines,
 window_s, created_at, submitted_at, ended_at) VALUES
 (1, 'b1', 'groq-a', 'submitted', 'batch_late1', 'in_progress', 4, 86400,
  $NOW - 30 * $H, $NOW - 26 * $H, NULL),
 (2, 'b2', 'groq-a', 'submitted', 'batch_b2', 'validating', 4, 86400,
  $NOW - 10 * $H, $NOW - 9 * $H, NULL),
 (3, 'b3', 'groq-b', 'planned', NULL, NULL, 4, 86400,
  $NOW - 2 * $H, NULL, NULL),
 (4, 'b4', 'groq-a', 'ended', 'batch_b4', 'completed', 4, 86400,
  $NOW - 90 * $H, $NOW - 89 * $H, $NOW - 80 * $H),
 (5, 'b5', 'groq-a', 'ended', 'batch_b5', 'expired', 4, 86400,
  $NOW - 90 * $H, $NOW - 89 * $H, $NOW - 60 * $H),
 (6, 'b6', 'groq-a', 'ended', 'batch_b6', 'failed', 4, 86400,
  $NOW - 90 * $H, $NOW - 89 * $H, $NOW - 88 * $H),
 (7, 'b7', 'groq-a', 'ended', 'batch_b7', 'cancelled', 4, 86400,
  $NOW - 90 * $H, $NOW - 89 * $H, $NOW - 70 * $H);
WITH v(batch, cid, attempt, state, retried) AS (VALUES
 (2, 'l1', 1, 'pending', 0), (2, 'l2', 1, 'pending', 0),
 (3, 'l3', 1, 'pending', 0), (1, 'l4', 2, 'pending', 0),
 (4, 'l5', 1, 'done', 0), (4, 'l6', 1, 'done', 0), (4, 'l7', 2, 'done', 0),
 (6, 'l8', 3, 'rejected', 0), (4, 'l9', 1, 'rejected', 1),
 (5, 'l10', 3, 'expired', 0), (6, 'l11', 2, 'failed', 0),
 (7, 'l12', 4, 'failed', 0))
INSERT INTO batch_lines(batch, custom_id, experiment, template, version,
 key, factors, position, attempt, state, retried)
 SELECT v.batch, v.cid, experiment, template, version, key, factors,
 position, v.attempt, v.state, v.retried FROM scenarios, v
 WHERE scenarios.id = 1;
INSERT INTO batch_keys(account, key_fp, verdict, detail, at) VALUES
 ('groq-a', 'fp-a', 'accepted', NULL, $NOW - $H),
 ('groq-b', 'fp-b', 'refused', '403 batches not enabled', $NOW - $H),
 ('groq-old', 'fp-o', 'refused', '403', $NOW - 50 * $H);
SQL
}
situation | sqlite3 scen.db
is "the situation stored" "$?" 0

export SCEN_CLOCK_SCALE=1e-300 SCEN_CLOCK_EPOCH=$NOW
scen-cache-stats >table.txt 2>table.err
is "table: exit 0" "$?" 0
is "table: the batches" "$(sed -n '/^Batches/,/^$/p' table.txt)" \
"Batches (all time; open now)
  open                                      3
  completed                                 1
  expired                                   1
  failed or cancelled                       2
  lines pending                             4
  lines done                                3
  lines failed                              5
  lines at the attempt cap                  3
  oldest open batch age            108000.00s
  keys refused for batches                  2
    their accounts             groq-b, groq-old"
is "table: the pool's runway" "$(grep runway table.txt)" \
	"  runway at the last 7 days' use: 24.5 days (6 pool servings in the last 7 days)"
is "table: the pool's size it is judged by" \
	"$(grep 'total available' table.txt)" \
	"  total available for the current templates: 21"
is "table: the overdue batch's alert" "$(grep batch_overdue table.txt)" \
	"  WARNING  batch_overdue: batch b1 (provider batch batch_late1) is open 2.0 h past its completion window of 24 h (submitted, status in_progress)"

scen-cache-stats --json >stats.json 2>json.err
is "--json: exit 0" "$?" 0
is "--json: batches" "$(j 'r["batches"]' stats.json)" \
	'{"open": 3, "completed": 1, "expired": 1, "failed": 2, "lines": {"pending": 4, "done": 3, "failed": 5}, "lines_capped": 3, "oldest_open_age_s": 108000.0, "keys_refused": 2}'
is "--json: the pool's runway" \
	"$(j '[r["pool"][k] for k in ("available", "served_7d", "runway_days")]' stats.json)" \
	"[21, 6, 24.5]"
is "--json: the accounts' keys refused for batches" \
	"$(j '[(a["name"], a["batch_key_refused"]) for a in r["accounts"]]' stats.json)" \
	'[["groq-a", false], ["groq-b", true]]'
is "--json: the alert" \
	"$(j '[(a["name"], a["level"], a["subject"], a["figure"], a["threshold"]) for a in r["alerts"]]' stats.json)" \
	'[["batch_overdue", "WARNING", "b1", 93600, 86400]]'

scen-cache-stats --prometheus >stats.prom 2>prom.err
is "--prometheus: exit 0" "$?" 0
is "--prometheus: the batch series" \
	"$(grep -E '^scen_(batch|pool_runway|account_batch)' stats.prom)" \
'scen_account_batch_key_refused{account="groq-a"} 0
scen_account_batch_key_refused{account="groq-b"} 1
scen_pool_runway_days 24.5
scen_batches{state="open"} 3
scen_batches{state="completed"} 1
scen_batches{state="expired"} 1
scen_batches{state="failed"} 2
scen_batch_lines{state="pending"} 4
scen_batch_lines{state="done"} 3
scen_batch_lines{state="failed"} 5
scen_batch_lines_capped 3
scen_batch_oldest_open_age_seconds 108000
scen_batch_keys_refused 2'
is "--prometheus: the alert" "$(grep '^scen_alert{' stats.prom)" \
	'scen_alert{name="batch_overdue",subject="b1"} 1'

scen-cache-stats --html report.html >/dev/null 2>html.err
is "--html: exit 0" "$?" 0
is "--html: the batches section" \
	"$(sed -n '/<h2>Batches/,/<\/table>/p' report.html)" \
'<h2>Batches (all time; open now)</h2>
<table class="batches">
<tr><td>batches open</td><td>3</td></tr>
<tr><td>batches completed</td><td>1</td></tr>
<tr><td>batches expired</td><td>1</td></tr>
<tr><td>batches failed or cancelled</td><td>2</td></tr>
<tr><td>lines pending</td><td>4</td></tr>
<tr><td>lines done</td><td>3</td></tr>
<tr><td>lines failed</td><td>5</td></tr>
<tr><td>lines at the attempt cap</td><td>3</td></tr>
<tr><td>oldest open batch age</td><td>108000.00s</td></tr>
<tr><td>keys refused for batches</td><td>2</td></tr>
<tr><td>their accounts</td><td>groq-b, groq-old</td></tr>
</table>'
is "--html: the runway" "$(grep -c "Runway at the last 7 days' use: 24.5 days (6 pool servings in the last 7 days)." report.html)" 1

scen-cache-stats --check >check.txt 2>check.err
is "--check: WARNING, exit 1" "$?" 1
is "--check: the status line names the batch" "$(head -1 check.txt | cut -d'|' -f1)" \
	"SCEN WARNING - 1 alert: batch_overdue/b1 "
is "--check: the alert's line" "$(tail -n +2 check.txt)" \
	"WARNING batch_overdue: batch b1 (provider batch batch_late1) is open 2.0 h past its completion window of 24 h (submitted, status in_progress)"

# the cap is the config's: at 4 attempts, one line is given up
sed -i 's/^pool: {/pool: {batch_attempts: 4, /' "$SCEN_CONFIG"
is "pool.batch_attempts 4: one line at the cap" \
	"$(scen-cache-stats --json | j 'r["batches"]["lines_capped"]')" 1
sed -i 's/^pool: {batch_attempts: 4, /pool: {/' "$SCEN_CONFIG"

# b1 ends: nothing overdue, the oldest open batch is b2 (10 h)
sqlite3 scen.db "UPDATE batches SET state = 'ended', status = 'completed',
	ended_at = $NOW WHERE bid = 'b1'"
scen-cache-stats --check >ok.txt 2>ok.err
is "none overdue: --check OK, exit 0" "$?" 0
is "none overdue: no alerts" "$(head -1 ok.txt | cut -d'|' -f1)" "SCEN OK - no alerts "
is "none overdue: figures" \
	"$(scen-cache-stats --json | j '[r["batches"][k] for k in ("open", "completed", "oldest_open_age_s")]')" \
	"[2, 2, 36000.0]"

# a week later: no pool servings in the last 7 days, the runway unbounded
# (b2 and b3 are overdue by then; b3 has no provider batch yet)
LATER=$((NOW + 8 * 86400))
SCEN_CLOCK_EPOCH=$LATER scen-cache-stats --json >later.json
is "no pool use in 7 days: runway null" \
	"$(j '[r["pool"]["served_7d"], r["pool"]["runway_days"]]' later.json)" "[0, null]"
is "no pool use: the overdue batch without a provider batch" \
	"$(j 'r["alerts"][1]["message"]' later.json)" \
	"batch b3 (provider batch none yet) is open 170.0 h past its completion window of 24 h (planned)"
is "no pool use: Prometheus +Inf" \
	"$(SCEN_CLOCK_EPOCH=$LATER scen-cache-stats --prometheus | grep '^scen_pool_runway_days')" \
	"scen_pool_runway_days +Inf"
is "no pool use: the table says so" \
	"$(SCEN_CLOCK_EPOCH=$LATER scen-cache-stats | grep runway)" \
	"  runway at the last 7 days' use: - (no pool servings in the last 7 days)"

# PostgreSQL: the same situation, the same figures
unset SCEN_CLOCK_SCALE SCEN_CLOCK_EPOCH
pg_start
pg_use
{ req a1 s1; req a2 s2 male; } | scen-serve-stdin >pg-serve.out 2>pg-serve.err
is "PostgreSQL: served two requests" "$(j 'r["status"]' pg-serve.out | tr '\n' ' ')" "ok ok "
pg_sql "$(situation)" >/dev/null
is "PostgreSQL: the situation stored" "$?" 0
export SCEN_CLOCK_SCALE=1e-300 SCEN_CLOCK_EPOCH=$NOW
scen-cache-stats --json >pg.json 2>pg.err
is "PostgreSQL: --json exit 0" "$?" 0
is "PostgreSQL: batches" "$(j 'r["batches"]' pg.json)" \
	'{"open": 3, "completed": 1, "expired": 1, "failed": 2, "lines": {"pending": 4, "done": 3, "failed": 5}, "lines_capped": 3, "oldest_open_age_s": 108000.0, "keys_refused": 2}'
for k in 'r["pool"]["served_7d"], r["pool"]["runway_days"]' \
	'[(a["name"], a["batch_key_refused"]) for a in r["accounts"]]' \
	'[a["message"] for a in r["alerts"]]'; do
	is "PostgreSQL: $k as SQLite's" "$(j "$k" pg.json)" "$(j "$k" stats.json)"
done
done_testing
