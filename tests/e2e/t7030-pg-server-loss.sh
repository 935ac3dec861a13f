# A serving process on a PostgreSQL database outlives the server's loss
# (scen(7) "Several hosts"): while the server is down, cache hits are
# still answered from memory and spooled, a request that needs the
# provider is answered unavailable without a call; when the server is
# back the spool is replayed, the process reconnects by itself and serves
# as before. Every ok answer ends up exported once; stderr tells the
# story in a few lines. Then the server is killed while a burst of lines
# is being committed, a few times: still no answer lost or doubled.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
fake_start
pg_start
write_config
pg_use

# missing OUT: the ids of the ok answers in OUT that scen-export does not
# list (by request_id)
missing() {
	scen-export 2>export.err | python3 -c '
import json, sys
exported = {json.loads(l)["request_id"] for l in sys.stdin}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["status"] == "ok" and r["id"] not in exported:
        print(r["id"], end=" ")
' "$1"
}

mkfifo fifo
trap "" PIPE	# a serving process that died fails the checks, not the script
scen-serve-stdin <fifo >out 2>err &
ps=$!
exec 3>fifo
req a1 sa1 female older warm 1 >&3
req a2 sa2 female older warm 1 >&3	# the same key: a cache hit
req a3 sa3 male younger cold 2 >&3
check "before the loss: answered" wait_lines out 3
is "before the loss: fresh, cache, fresh" \
	"$(j 'r["id"] + ":" + r["tier"]' out | sort | tr '\n' ' ')" "a1:fresh a2:cache a3:fresh "
calls=$(fake_stat 'r["calls"]')

pg_kill 3>&-
# sessions seen before the loss are known in memory; a new one's history
# is not (another host may have served it): nothing stored is served to it
req b1 sa3 female older warm 1 >&3	# cached, new to sa3
req b2 sa1 male younger cold 2 >&3	# cached, new to sa1
req b3 sa2 male older neutral 7 >&3	# nothing stored: needs a call
req b4 sb4 female older warm 1 >&3	# cached, but an unknown session
check "server down: answered" wait_lines out 7
is "server down: cache hits ok, the miss and the unknown session unavailable" \
	"$(sed -n 4,7p out | j 'r["id"] + ":" + r["status"]' | sort | tr '\n' ' ')" \
	"b1:ok b2:ok b3:unavailable b4:unavailable "
is "server down: no provider call" "$(fake_stat 'r["calls"]')" "$calls"
spool=$(ls scen-*.spool 2>/dev/null)
is "server down: the two servings are spooled" \
	"$(grep -c '"type":"serving"' "$spool" 2>/dev/null)" 2

pg_restart 3>&-
# tried again after 0.25 s, doubling to 5 s (scen-serve-stdin(1))
for _i in $(seq 1 100); do
	grep -q "is back" err && break
	sleep 0.1
done
check "server back: the process reconnects by itself" grep -q "is back" err
req c1 sa1 female younger neutral 4 >&3	# a call again
req c2 sc2 female older warm 1 >&3	# a new session: a cache hit
check "server back: answered" wait_lines out 9
is "server back: fresh and cache" \
	"$(sed -n 8,9p out | j 'r["id"] + ":" + r["status"] + "/" + r.get("tier", "")' | sort | tr '\n' ' ')" \
	"c1:ok/fresh c2:ok/cache "
is "server back: one more provider call" "$(fake_stat 'r["calls"]')" "$((calls + 1))"
exec 3>&-
wait "$ps"
is "the run: exit 0" "$?" 0
check "the spool is replayed and gone" test ! -s "$spool"
[ "$(wc -l <err)" -le 4 ] || sed "s/^/#   /" err
cmp_num "stderr: a few lines" "$(wc -l <err)" -le 4
check "stderr: the loss" grep -q "serving from memory" err
check "stderr: the return" grep -q "is back: 2 spooled servings added" err

is "every ok answer is exported" "$(missing out)" ""
is "no serving twice" "$(pg_sql 'select count(*) - count(distinct request_id) from servings')" 0
is "the fresh call after the return is recorded" \
	"$(pg_sql "select tier from servings where request_id = 'c1'")" fresh

# the server dies while a burst of lines is being committed, at a
# different moment each time; it is back before the input ends (the end
# of input tries it once more: nothing is left spooled)
for k in 1 2 3; do
	design 60 "k$k-" >burst
	rm -f back
	{ cat burst; while [ ! -e back ]; do sleep 0.05; done; } |
		scen-serve-stdin >outk 2>errk &
	pk=$!
	wait_lines outk 1	# it serves: the kill lands in a turn
	sleep "0.$((k - 1))$k"
	pg_kill
	pg_restart
	touch back
	wait "$pk"
	is "burst $k: exit 0, every line answered" \
		"$?:$(wc -l <outk | tr -d ' ')" "0:60"
	is "burst $k: every ok answer exported" "$(missing outk)" ""
	is "burst $k: no serving twice" \
		"$(pg_sql 'select count(*) - count(distinct request_id) from servings')" 0
	check "burst $k: no spool left" sh -c '! ls scen-*.spool 2>/dev/null | grep -q .'
done
done_testing
