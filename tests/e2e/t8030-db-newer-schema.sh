# A database written by a newer scen (its schema version above the one
# this scen knows): every command refuses it with exit 78 and a message
# naming the file, and leaves it as it was (no migration, no spool
# replay).
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config

req a1 s1 | scen-serve-stdin >out1 2>err1
is "a database of this scen" "$(j 'r["status"]' out1)" ok
known=$(sql 'pragma user_version')
cmp_num "it has a schema version" "$known" -ge 2
newer=$((known + 5))
python3 -c '
import sqlite3, sys
c = sqlite3.connect("scen.db")
c.execute("PRAGMA user_version = %d" % int(sys.argv[1]))
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
' "$newer"
# a spool, as if left by a scen that could not write it: untouched too
echo '{"type":"count","uid":"sp-t8030","hour":1,"name":"x","n":1}' >scen.db.spool
sum0=$(cksum <scen.db)

for c in "scen-serve-stdin" \
	"scen-gen --experiment trust-2026 --template hiring --factor gender=female --factor age=older --factor tone=warm --position 1" \
	"scen-pool-fill --max-calls 1" "scen-pool-fill --dry-run" \
	"scen-cache-stats" "scen-cache-stats --verify" "scen-export"; do
	# shellcheck disable=SC2086
	req b1 s2 | $c >c.out 2>c.err
	rc=$?
	is "$c: exit 78" "$rc" 78
	check "$c: the message names the file and says why" \
		grep -q "$T/scen.db: schema version $newer is newer than this scen understands ($known); use a newer scen" c.err
	is "$c: nothing on stdout" "$(wc -c <c.out)" 0
done
is "the database is left as it was" "$(cksum <scen.db)" "$sum0"
is "its version too" "$(sql 'pragma user_version')" "$newer"
check "the spool is left alone" test -s scen.db.spool
is "no provider call was made" "$(fake_stat 'r["calls"]')" 1
done_testing
