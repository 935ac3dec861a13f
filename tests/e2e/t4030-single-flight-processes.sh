# Single flight across processes (scen-serve-stdin(1), CONCURRENCY): the
# same combination asked of three scen-serve-stdin processes on one
# database at the same moment costs one provider call, the jobs table
# being the claim the others wait on; each gets the one scenario (fresh
# for the process that made it, a hit for the others), each serving
# recorded. Distinct combinations asked of the three in different orders
# cost a call each.
. "$(dirname "$0")/../lib/test-lib.sh"
# a slow provider: every call is still out when the others are asked
fake_start --delay-ms 1000
write_config
scen-serve-stdin </dev/null 2>err0	# the database, made once
is "the database is made" "$?" 0

for n in 1 2 3; do
	req r$n s$n female older warm 3 | scen-serve-stdin >out$n 2>err$n &
	eval "pid$n=\$!"
done
wait "$pid1"; rc1=$?; wait "$pid2"; rc2=$?; wait "$pid3"; rc3=$?
is "the three exit 0" "$rc1 $rc2 $rc3" "0 0 0"
is "one provider call" "$(fake_stat 'r["calls"]')" 1
is "the three answered ok" "$(cat out1 out2 out3 | j 'r["status"]' | sort | uniq -c | tr -s ' ')" \
	" 3 ok"
is "with one scenario" "$(cat out1 out2 out3 | j 'r["scenario_id"]' | sort -u | wc -l)" 1
is "fresh for the one that made it, a hit for the others" \
	"$(cat out1 out2 out3 | j 'r["tier"]' | sort | tr '\n' ' ')" \
	"cache cache fresh "
is "three servings of one scenario are recorded" \
	"$(sql "select count(*), count(distinct scenario) from servings")" "3|1"
is "the scenario counts its three servings" \
	"$(sql "select count(*), sum(serves) from scenarios")" "1|3"
is "one job was made" "$(sql "select count(*) from jobs")" 1

# six combinations, asked of the three in three orders
fake_reset
design 6 a >a.req
tac a.req | sed 's/"a\([0-9-]\)/"b\1/g' >b.req
sed -n '4,6p;1,3p' a.req | sed 's/"a\([0-9-]\)/"c\1/g' >c.req
for n in a b c; do
	scen-serve-stdin <$n.req >out-$n 2>err-$n &
	eval "pid_$n=\$!"
done
wait "$pid_a"; rc1=$?; wait "$pid_b"; rc2=$?; wait "$pid_c"; rc3=$?
is "the three exit 0" "$rc1 $rc2 $rc3" "0 0 0"
is "a call for each combination" "$(fake_stat 'r["calls"]')" 6
is "every request answered ok" \
	"$(cat out-a out-b out-c | j 'r["status"]' | sort | uniq -c | tr -s ' ')" " 18 ok"
is "each combination has one scenario, served three times" \
	"$(sql "select count(*), min(serves), max(serves) from scenarios where id > 1")" "6|3|3"
done_testing
