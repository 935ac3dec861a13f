# scen-db-copy: a study copied into another database reads the same there
# (the three exports of scen-export, sorted, and the counts of
# scen-cache-stats --json are equal; SQLite to SQLite, every row of every
# table is: the .dump of both); new rows there continue after the copied
# ids; a target that holds rows is refused and left as it is; a bad
# --from is named and nothing is created.
. "$(dirname "$0")/../lib/test-lib.sh"

# exports DB NAME: the three exports of DB, each sorted (the serving and
# scenario ids lead each line: sorted, the order of any backend's reads
# is the same), in NAME.servings, NAME.scenarios, NAME.templates
exports() {
	for w in servings scenarios templates; do
		scen-export --db "$1" --what "$w" >"$2.$w.raw" 2>"$2.$w.err"
		is "scen-export --db $1 --what $w: exit 0" "$?" 0
		LC_ALL=C sort "$2.$w.raw" >"$2.$w"
	done
}

# counts DB: the counts of scen-cache-stats --json (every integer field,
# by its path; the times differ from run to run)
counts() {
	scen-cache-stats --db "$1" --json 2>/dev/null | json_ints
}

# copy_and_compare FROM TO: copies FROM (a SQLite file or a PostgreSQL
# URI) into TO (new or empty; either kind) and checks that TO reads as
# FROM does
copy_and_compare() {
	scen-db-copy --from "$1" --to "$2" >copy.out 2>copy.err
	is "$1 -> $2: exit 0" "$?" 0
	is "$1 -> $2: nothing said" "$(cat copy.err)" ""
	is "$1 -> $2: a line per table, in their order" \
		"$(awk '{ print $1 }' copy.out | tr '\n' ' ')" \
		"templates scenarios servings jobs calls accounts counters events spool_replayed owners batches batch_lines batch_keys "
	exports "$1" from
	exports "$2" to
	for w in servings scenarios templates; do
		is "$1 -> $2: the $w copied, as many as printed" \
			"$(wc -l <"to.$w" | tr -d ' ')" \
			"$(awk -v t="$w" '$1 == t { print $2 }' copy.out)"
		is "$1 -> $2: scen-export --what $w equal" \
			"$(cmp "from.$w" "to.$w" 2>&1)" ""
	done
	counts "$1" >from.counts
	counts "$2" >to.counts
	cmp_num "$1 -> $2: scen-cache-stats counts something" \
		"$(grep -c . from.counts)" -gt 20
	is "$1 -> $2: scen-cache-stats --json counts equal" \
		"$(diff from.counts to.counts)" ""
	# a copy is refused once the target holds rows: nothing changes
	scen-db-copy --from "$1" --to "$2" >again.out 2>again.err
	is "$1 -> $2 again: exit 65, nothing printed" \
		"$?:$(wc -c <again.out | tr -d ' ')" "65:0"
	is "$1 -> $2 again: one line, naming the target and its rows" \
		"$(sed 's/(.*)/(...)/' again.err)" \
		"scen-db-copy: $2: holds rows already (...); scen-db-copy copies into an empty database only: nothing copied"
	check "... counting its servings" \
		grep -q "servings: $(wc -l <to.servings | tr -d ' ')" again.err
	exports "$2" again
	is "$1 -> $2 again: the target unchanged" \
		"$(cat again.servings again.scenarios again.templates | cksum)" \
		"$(cat to.servings to.scenarios to.templates | cksum)"
	# the copy serves on: a new serving takes the next id
	n=$(wc -l <to.servings | tr -d ' ')
	copies=$((${copies:-0} + 1))	# a session of its own each time
	# a combination of its own too: the earlier copies' is a hit now
	req "new-$copies" "new-s$copies" male younger warm "$copies" |
		scen-serve-stdin --db "$2" >new.out 2>new.err
	is "$2: a new request is served fresh" "$(j 'r["tier"]' new.out)" fresh
	is "$2: its serving takes the id after the copied ones" \
		"$(scen-export --db "$2" --session "new-s$copies" | j 'r["serving"]')" \
		"$((n + 1))"
}

fake_start
BREAKER_FAILURES=1000 VARIANTS=1 write_pool_config
# a study: fresh answers, then the same from other sessions (cache), a
# refused key (an event), a pool fill
design 8 a | scen-serve-stdin >serve1.out 2>serve1.err
design 8 b | scen-serve-stdin >serve2.out 2>serve2.err
fake_ctl '{"mode":"401","count":1}'
req c1 sc1 male older cold 5 | scen-serve-stdin >serve3.out 2>serve3.err
scen-pool-fill -q --experiment pool-2026 >fill.out 2>fill.err
is "the study: fresh and cache answers" \
	"$(cat serve1.out serve2.out | j 'r["tier"]' | sort | uniq -c | awk '{ printf "%s %s ", $1, $2 }')" \
	"8 cache 8 fresh "
is "the study: an event" "$(sql 'select kind from events' | sort -u)" auth_failed
cmp_num "the study: pool entries" "$(sql "select count(*) from scenarios where origin = 'pool'")" -gt 0
fake_ctl '{"mode":"ok"}'

# the source defaults to the config's database
scen-db-copy --to first.db >first.out 2>first.err
is "from the config's database: exit 0" "$?" 0
is "... every table copied" "$(awk '$1 == "servings" { print $2 }' first.out)" \
	"$(sql 'select count(*) from servings')"

copy_and_compare "$T/scen.db" "$T/copy.db"
# SQLite to SQLite: every row, every value with its type (keys byte for
# byte), the same; .dump lists rows by rowid, which only the tables whose
# key is an INTEGER id keep: sorted (first.db is the untouched copy)
sqlite3 first.db .dump | sort >first.db.dump
sqlite3 scen.db .dump | sort >scen.db.dump
is "SQLite -> SQLite: every row the same (.dump, sorted)" \
	"$(diff scen.db.dump first.db.dump)" ""
check "... the keys among them" grep -q "X'" first.db.dump

# SQLite to PostgreSQL, and back into a new file
. "$SCEN_TOP/tests/lib/pg.sh"
pg_start
copy_and_compare "$T/scen.db" "$SCEN_PG_URI"
copy_and_compare "$SCEN_PG_URI" "$T/back.db"

# a bad --from is named, and no target is made
scen-db-copy --from "$T/missing.db" --to new.db >out 2>err
is "a missing --from: exit 74" "$?" 74
is "... named" "$(cat err)" \
	"scen-db-copy: $T/missing.db: cannot open: No such file or directory"
check "... no target made" test ! -e new.db
sqlite3 other.db 'create table t(x)'
scen-db-copy --from other.db --to new.db >out 2>err
is "a --from of another program: exit 65, named" \
	"$?:$(grep -c '^scen-db-copy: other.db: not a scen database' err)" "65:1"
check "... no target made" test ! -e new.db
scen-db-copy --from scen.db >out 2>err
is "no --to: exit 64" "$?:$(cat err)" \
	"64:scen-db-copy: --to is needed: the database to copy into (see scen-db-copy --help)"
done_testing
