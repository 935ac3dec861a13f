# scen-cache-stats: the figures agree with what was really served (tiers,
# answers, bad lines, unavailable, per-account calls and 429s, against the
# fake provider's own counts), stats and export read while
# scen-serve-stdin writes, need no API key, never change the database and
# never print a key.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
BREAKER_FAILURES=1000 write_config

# 8 new combinations, then the same 8 from other sessions
for p in 1 2 3 4 5 6 7 8; do req "a$p" "sa$p" female older warm "$p"; done >in1
for p in 1 2 3 4 5 6 7 8; do req "b$p" "sb$p" female older warm "$p"; done >in2
scen-serve-stdin <in1 >out1 2>err1
is "first batch: exit 0" "$?" 0
scen-serve-stdin <in2 >out2 2>err2
# one 429 on the way to a fresh scenario: the call moves on
fake_ctl '{"mode":"429","count":1,"retry_after":2}'
req c1 sc1 female younger neutral 5 | scen-serve-stdin >out3 2>err3
is "after a 429: fresh" "$(j 'r["tier"]' out3)" fresh
# the provider fails: two requests near stored ones are answered relaxed,
# one with no neighbour is unavailable; and three bad lines
fake_ctl '{"mode":"503"}'
{
	req d1 sd1 female older warm 9
	req d2 sd2 female younger neutral 6
	req d3 sd3 male younger cold 2
	echo 'not json'
	echo '{"id":"x2","session":"s","experiment":"trust-2026","template":"nope","factors":{}}'
	echo '{"id":"x3"'
} | scen-serve-stdin >out4 2>err4
fake_ctl '{"mode":"ok"}'
cat out1 out2 out3 out4 >all.out
is "relaxed answers" "$(j 'r.get("tier", "")' out4 | grep -c relaxed)" 2
is "unavailable answer" "$(j 'r["status"]' out4 | grep -c unavailable)" 1

scen-cache-stats --json >stats.json 2>stats.err
is "stats --json: exit 0" "$?" 0
jh() { j "$1" stats.json; }
served() { j 'r.get("tier", r["status"])' all.out | grep -c "^$1\$"; }
for t in cache fresh pool relaxed; do
	is "hour: tier $t as served" "$(jh "r['windows']['hour']['tiers']['$t']")" \
		"$(served $t)"
	is "week: tier $t as recorded" "$(jh "r['windows']['week']['tiers']['$t']")" \
		"$(sql "select count(*) from servings where tier = '$t'")"
done
is "answered" "$(jh "r['windows']['hour']['answered']")" \
	"$(j 'r["status"]' all.out | grep -c '^ok$')"
is "unavailable" "$(jh "r['windows']['hour']['unavailable']")" 1
is "bad input lines" "$(jh "r['windows']['hour']['bad_input']")" 3
is "bad input by code" "$(jh "sorted(r['windows']['hour']['bad_input_by_code'].items())")" \
	'[["invalid_json", 2], ["unknown_template", 1]]'
is "requests: every line" "$(jh "r['windows']['hour']['requests']")" \
	"$(cat all.out | wc -l | tr -d ' ')"
is "hit rate: (cache + pool + relaxed) / answered" \
	"$(jh "round(r['windows']['hour']['hit_rate'], 4)")" \
	"$(python3 -c "print(round(10 / 19, 4))")"
is "unavailable by template" \
	"$(jh "r['windows']['day']['unavailable_by_template']")" \
	'{"trust-2026/hiring": 1}'
is "the fresh job of every fresh answer" \
	"$(jh "r['windows']['hour']['queue']['done']")" "$(served fresh)"
is "scenarios stored" "$(jh "r['windows']['hour']['stored']['fresh']")" \
	"$(sql 'select count(*) from scenarios')"
is "totals: servings" "$(jh "r['totals']['servings']")" \
	"$(sql 'select count(*) from servings')"

# per account, against the fake provider's own counts (key 0 = groq-a)
for a in 0 1; do
	name=groq-$(echo "$a" | tr 01 ab)
	sel="[x for x in r['accounts'] if x['name'] == '$name'][0]"
	is "$name: calls today (429s excluded)" "$(jh "$sel['calls']['day']")" \
		"$(j "1 if r['key_id'] == '$a' and r['status'] != 429 else 0" \
			"$T/fake.log" | grep -c 1)"
	is "$name: ok calls this hour" \
		"$(jh "r['windows']['hour']['accounts']['$name']['ok']")" \
		"$(fake_stat "r['ok_by_key'].get('$a', 0)")"
done
is "429s: the fake refused one" "$(jh "r['windows']['hour']['calls']['429']")" \
	"$(fake_stat "r['status'].get('429', 0)")"
is "429s today, per account, add up" \
	"$(jh "sum(x['refused_429_today'] for x in r['accounts'])")" 1
is "5xx calls: those the fake answered" \
	"$(jh "r['windows']['hour']['calls']['5xx']")" \
	"$(fake_stat "r['status'].get('503', 0)")"
is "all calls, all outcomes" "$(jh "r['windows']['hour']['calls_total']")" \
	"$(fake_stat 'r["calls"]')"

# the table says the same
scen-cache-stats >table.out 2>table.err
is "table: exit 0" "$?" 0
check "table: tier cache row" grep -qE "^  cache +8 \(42\.1%\)" table.out
check "table: account rows by name" grep -q "^  groq-a " table.out
check "table: bad input codes" grep -qE "bad input: invalid_json +2" table.out

# while scen-serve-stdin holds the database open and writes (WAL)
mkfifo feed
scen-serve-stdin <feed >co.out 2>co.err &
co=$!
exec 3>feed
req e1 se1 male older neutral 4 >&3
for _i in $(seq 1 100); do [ -s co.out ] && break; sleep 0.05; done
scen-cache-stats --json >live.json 2>live.err
is "stats while a server writes: exit 0" "$?" 0
is "stats while a server writes: sees its answer" \
	"$(j "r['windows']['hour']['tiers']['fresh']" live.json)" "$(($(served fresh) + 1))"
scen-export >live.jsonl 2>live.err
is "export while a server writes: exit 0" "$?" 0
is "export while a server writes: every serving" "$(wc -l <live.jsonl | tr -d ' ')" \
	"$(sql 'select count(*) from servings')"
exec 3>&-
wait "$co"
is "the server ends well" "$?" 0

# read-only, without keys
sum1=$(sha256sum scen.db | cut -d' ' -f1)
(
	unset SCEN_TEST_KEY_1 SCEN_TEST_KEY_2 SCEN_TEST_KEY_3
	scen-cache-stats >nokey.out 2>nokey.err
	echo "$?" >nokey.rc
	scen-export --format csv >nokey.csv 2>>nokey.err
	echo "$?" >>nokey.rc
)
is "no API key needed" "$(tr '\n' ' ' <nokey.rc)" "0 0 "
scen-cache-stats --prometheus >p.out 2>&1
scen-cache-stats --check >c.out 2>&1
scen-cache-stats --html r.html >h.out 2>&1
scen-export --what scenarios >s.out 2>&1
scen-export --what templates >t.out 2>&1
is "the database file is unchanged" "$(sha256sum scen.db | cut -d' ' -f1)" "$sum1"
for k in "$SCEN_TEST_KEY_1" "$SCEN_TEST_KEY_2" "$SCEN_TEST_KEY_3"; do
	check "no key in any output" sh -c "! grep -qaF -- '$k' \
		stats.json table.out live.json live.jsonl nokey.out nokey.csv \
		p.out c.out r.html s.out t.out stats.err table.err"
done
done_testing
