# scen on a PostgreSQL database (a libpq URI as database: or --db, see
# scen.yaml(5)): serving, stats and export end to end as on a SQLite file,
# two processes sharing it, a serving process outliving a server restart;
# stats --verify, the pool fill and its lock; a URI's password is never
# printed; a database of another program is refused (exit 65, as a SQLite
# file of another program) and left as it is; one of a newer schema exits
# 78; a server that is not there, 69.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
fake_start
pg_start
write_pool_config
pg_use

req r1 p1 | scen-serve-stdin >out1 2>err1
is "fresh: exit 0" "$?:$(j 'r["tier"]' out1)" "0:fresh"
sid=$(j 'r["scenario_id"]' out1)
req r2 p2 | scen-serve-stdin >out2 2>err2
is "another session: a cache hit of the same scenario" \
	"$(j 'r["tier"] + " " + r["scenario_id"]' out2)" "cache $sid"
is "one provider call" "$(fake_stat 'r["calls"]')" 1
is "the servings are in PostgreSQL" \
	"$(pg_sql 'select tier from servings order by id' | tr '\n' ' ')" "fresh cache "
check "no SQLite file made" test ! -e scen.db

# two processes at once: each answer recorded once, in commit order
design 12 a >ina
design 12 b >inb
scen-serve-stdin <ina >outa 2>erra &
pa=$!
scen-serve-stdin <inb >outb 2>errb
wait "$pa"
is "both processes: every line answered ok" \
	"$(cat outa outb | j 'r["status"]' | grep -c '^ok$')" 24
is "every serving recorded" "$(pg_sql 'select count(*) from servings')" 26

# a serving process outlives a server restart between two requests
mkfifo fifo
scen-serve-stdin <fifo >outr 2>errr &
pr=$!
exec 3>fifo
req s1 ps1 male older cold 2 >&3
check "before the restart: answered" wait_lines outr 1
pg_restart 3>&-	# the server must not hold the fifo open
req s2 ps2 male older cold 2 >&3
check "after the restart: answered" wait_lines outr 2
exec 3>&-
wait "$pr"
is "after the restart: served and recorded" \
	"$(sed -n 2p outr | j 'r["status"]'):$(pg_sql "select count(*) from servings where request_id = 's2'")" "ok:1"

# scen-gen: fresh scenarios stored in PostgreSQL
n0=$(pg_sql 'select count(*) from scenarios')
scen-gen -n 2 --experiment trust-2026 --template hiring --factor gender=male \
	--factor age=younger --factor tone=warm --position 8 >gen.out 2>gen.err
is "scen-gen: exit 0, two scenarios" "$?:$(j 'r["status"]' gen.out | tr '\n' ' ')" "0:ok ok "
is "... stored in PostgreSQL" "$(pg_sql 'select count(*) from scenarios')" "$((n0 + 2))"

scen-cache-stats --json >stats.json 2>stats.err
is "stats: exit 0" "$?" 0
is "stats: the servings" "$(j "r['totals']['servings']" stats.json)" \
	"$(pg_sql 'select count(*) from servings')"
is "stats: cache hits as recorded" \
	"$(j "r['windows']['hour']['tiers']['cache']" stats.json)" \
	"$(pg_sql "select count(*) from servings where tier = 'cache'")"
scen-export >e.jsonl 2>e.err
is "export: exit 0, one row per serving" "$?:$(wc -l <e.jsonl | tr -d ' ')" \
	"0:$(pg_sql 'select count(*) from servings')"
is "export: the first serving's scenario and text" \
	"$(head -n 1 e.jsonl | j 'r["scenario_id"] + " " + str(r["text"] == json.load(open("out1"))["text"])')" \
	"$sid True"

scen-cache-stats --verify >v.out 2>v.err
is "stats --verify: every check passes" "$?" 0
scen-export --what templates >t.jsonl 2>t.err
is "export --what templates: exit 0, the versions used" \
	"$?:$(wc -l <t.jsonl | tr -d ' ')" "0:$(pg_sql 'select count(*) from templates')"

# the pool fill: its plan counts what is stored, and one run at a time
scen-pool-fill --experiment pool-2026 >p.out 2>p.err
is "pool fill: exit 0, pool scenarios stored" "$?:$(pg_sql "select count(*) > 0 from scenarios where origin = 'pool'")" "0:t"
calls=$(fake_stat 'r["calls"]')
scen-pool-fill --experiment pool-2026 >p.out 2>p.err
is "pool fill again: nothing left to make" "$?:$(fake_stat 'r["calls"]')" "0:$calls"
# another run holds the pool fill's advisory lock (PG_KEY_POOL)
pg_sql "SELECT pg_advisory_lock(126870740664322), pg_sleep(3)" >/dev/null &
holder=$!
sleep 1
scen-pool-fill --experiment pool-2026 >p.out 2>p.err
is "pool fill while another runs: exit 75" "$?" 75
check "... saying so" grep -q "another scen-pool-fill is filling" p.err
wait "$holder"

# the password of a URI is never printed
for c in scen-serve-stdin scen-cache-stats scen-export; do
	req w1 sw1 | $c --db "postgresql://scen:secret@/scen?host=$T/nowhere" >w.out 2>w.err
	is "$c: no server: exit 69" "$?" 69
	check "$c: the message says why" grep -q "cannot connect" w.err
	check "$c: ... without the password" sh -c '! grep -q secret w.out w.err'
done
# nor that of a mistyped scheme or a libpq connection string: refused,
# not taken for a file name
for db in "pg://scen:secret@/scen" "host=$T password=secret dbname=scen"; do
	scen-export --db "$db" >w.out 2>w.err
	is "'${db%% *}...': exit 78, neither a file nor a URI" \
		"$?:$(grep -c 'neither a file nor a postgresql:// URI' w.err)" "78:1"
	check "... without the password" sh -c '! grep -q secret w.out w.err'
done

# another program's database: refused, as it was
pg_sql "CREATE DATABASE other" >/dev/null
other="postgresql:///other?host=$PG_DIR&user=scen"
psql -XAtq "$other" -c "CREATE TABLE notes(id int, body text)"
for c in scen-serve-stdin scen-cache-stats scen-export; do
	req f1 sf1 | $c --db "$other" >f.out 2>f.err
	is "$c: another program's database: exit 65" "$?" 65
	check "$c: ... not a scen database" \
		grep -q "not a scen database (it holds tables, not scen's); left as it is$" f.err
done
is "another program's database: as it was" \
	"$(psql -XAtq "$other" -c "select tablename from pg_tables where schemaname = 'public'")" notes

# a schema newer than this scen
pg_sql "UPDATE scen_meta SET value = '99' WHERE key = 'schema_version'"
req n1 sn1 | scen-serve-stdin >n.out 2>n.err
is "newer schema: exit 78" "$?" 78
check "newer schema: use a newer scen" grep -q "schema version 99 is newer" n.err
done_testing
