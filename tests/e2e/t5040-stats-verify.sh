# scen-cache-stats --verify: a database written by scen passes every check;
# serve counts, counters, repeats and experiment crossings that disagree
# are reported by name with details and exit 65 (2 with --check); so is
# a damaged page.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
for p in 1 2 3 4; do req "a$p" "sa$p" female older warm "$p"; done >in
for p in 1 2 3 4; do req "b$p" "sb$p" female older warm "$p"; done >>in
req c1 sa1 female older warm 1 >>in
echo 'not json' >>in
scen-serve-stdin <in >out 2>err
is "served" "$(j 'r["status"]' out | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" \
	"1error 9ok "

scen-cache-stats --verify >v.out 2>v.err
is "--verify on a sound database: exit 0" "$?" 0
is "--verify: every check passes" "$(grep -c '^ok ' v.out)" 10
check "--verify: the checks are named" grep -q "^ok    serve_counts " v.out
is "--verify: the summary" "$(tail -n 1 v.out)" "0 problems found"
scen-cache-stats --verify --check >vc.out 2>&1
is "--verify --check: OK" "$?:$(head -n 1 vc.out)" "0:SCEN OK - verify: 0 problems"
scen-cache-stats --verify --json >/dev/null 2>&1
is "--verify --json: usage error" "$?" 64

cp scen.db sound.db
python3 - scen.db <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE scenarios SET serves = serves + 2 WHERE id = 1")
c.execute("UPDATE counters SET n = n + 1 WHERE name = 'tier.cache'")
# a second serving of scenario 1 to a session that had it
c.execute("INSERT INTO servings(request_id, session, experiment, template,"
          " version, factors, position, tier, similarity, scenario,"
          " account, latency_ms, served_at) SELECT 'dup', session,"
          " experiment, template, version, factors, position, 'cache', 1,"
          " scenario, account, 1, served_at + 1 FROM servings"
          " WHERE scenario = 1 LIMIT 1")
# a serving in another experiment of a trust-2026 scenario
c.execute("INSERT INTO servings(request_id, session, experiment, template,"
          " version, factors, position, tier, similarity, scenario,"
          " account, latency_ms, served_at) SELECT 'x', 'other-s',"
          " 'other-2026', template, version, factors, position, 'cache',"
          " 1, 2, account, 1, served_at + 1 FROM servings LIMIT 1")
c.commit()
PY
sid1=$(sql 'select sid from scenarios where id = 1')
scen-cache-stats --verify >bad.out 2>bad.err
is "--verify on a tampered database: exit 65" "$?" 65
is "--verify: the failing checks" "$(grep '^FAIL' bad.out | awk '{print $2}' | tr '\n' ' ')" \
	"serve_counts tier_counters answer_counters same_experiment no_repeat "
check "--verify: serve count details" grep -qE "^ +$sid1: serves [0-9]+, servings [0-9]+" bad.out
check "--verify: counter details" grep -qE "^ +tier cache: counters [0-9]+, servings [0-9]+" bad.out
check "--verify: crossing details" grep -qE "^ +serving [0-9]+ \(other-2026/hiring\) got sc-[0-9a-f]+ of trust-2026/hiring" bad.out
check "--verify: repeat details" grep -qE "^ +session [a-z0-9]+ got $sid1 2 times" bad.out
is "--verify: the summary counts the problems" "$(tail -n 1 bad.out)" \
	"$(grep -c '^        ' bad.out) problems found"
scen-cache-stats --verify --check >badc.out 2>&1
is "--verify --check on problems: CRITICAL" "$?" 2
check "--verify --check: status line" grep -q "^SCEN CRITICAL - verify: [0-9]* problems" badc.out

# a damaged page: the integrity check (or the first read) fails
cp sound.db damaged.db
damage_page damaged.db servings_time
scen-cache-stats --verify --db damaged.db >dmg.out 2>dmg.err
is "--verify on a damaged file: 65" "$?" 65
check "--verify on a damaged file: the integrity check fails" \
	grep -q "^FAIL  integrity " dmg.out
scen-cache-stats --verify --check --db damaged.db >dmgc.out 2>&1
is "--verify --check on a damaged file: CRITICAL" "$?" 2
echo "not a database at all, only text" >text.db
scen-cache-stats --verify --db text.db >/dev/null 2>&1
is "--verify on a text file: 74" "$?" 74
done_testing
