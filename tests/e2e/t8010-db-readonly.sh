# A database that turns read-only in the middle of a scen-serve-stdin
# stream (SCEN_DB_FAIL_AFTER=N: the commits after the first N fail as
# SQLITE_READONLY): the failed turn is answered again from memory, a
# request waiting for a generation goes on to the next tiers, --ordered
# keeps its order, the servings are spooled and replayed once. A spool
# held by a running process is not replayed under it, and what it spooled
# still counts for other processes (no repeat to a session). When the
# spool cannot be written either, nothing is served that cannot be
# recorded: unavailable, and exit 74.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
# a generation may wait long: it is still in flight at the failure
TIMEOUT_S=30 DEADLINE_S=60 FALLBACK="cache, fresh, relaxed" write_config

design 8 a | scen-serve-stdin >out1 2>err1
is "setup: eight scenarios (female, younger, neutral, positions 1-8)" "$(sql 'select count(*) from scenarios')" 8

# commit 1 is the start-up, commit 2 the turn of the first line; the
# third fails. The first line needs a generation, slow enough to be in
# flight when the database turns read-only.
for k in 1 2 3; do design 8 "h$k"; done >hits2
echo 'not json' >>hits2
fake_ctl '{"mode":"slow","delay_ms":8000}'
calls0=$(fake_stat 'r["calls"]')
rm -f fifo && mkfifo fifo
SCEN_DB_FAIL_AFTER=2 scen-serve-stdin --async <fifo >out2 2>err2 &
pid=$!
exec 3>fifo
req m1 sm1 female younger neutral 10 >&3
wait_lines out2 1
is "the generation was asked for" "$(head -n 1 out2 | j 'r["status"]')" generating
job=$(head -n 1 out2 | j 'r["job"]')
cat hits2 >&3
printf '{"id":"st1","op":"status","job":"%s","session":"sm1"}\n' "$job" >&3
exec 3>&-
wait $pid
is "read-only mid-stream: exit 0" "$?" 0
is "every line answered (and one interim line)" "$(wc -l <out2)" 28
is "the hits are ok" "$(grep -c '"status":"ok","tier":"cache"' out2)" 24
is "the waiting request went on to the relaxed tier" \
	"$(grep '"id":"m1","status":"ok"' out2 | j 'r["tier"] + " " + str(r["similarity"])')" "relaxed 0.8889"
is "the bad line is an error" "$(grep -c '"error":"invalid_json"' out2)" 1
is "a status poll of the job sees it as the database has it" \
	"$(grep '"id":"st1"' out2 | j 'r["status"] + " " + r.get("state", "")')" "generating running"
is "the warning, once" \
	"$(grep -c "warning: database read-only: serving from memory, servings spooled to $T/scen.db.spool" err2)" 1
is "the spool is private" "$(stat -c %a scen.db.spool)" 600
is "nothing of it in the database" "$(sql 'select count(*) from servings')" 8
is "every ok answer spooled" "$(grep -c '"type":"serving"' scen.db.spool)" 25
is "only the one call, made before" "$(fake_stat 'r["calls"]')" "$((calls0 + 1))"
fake_ctl '{"mode":"ok"}'

# the next start replays the spool and adopts the job left running
scen-serve-stdin </dev/null >out3 2>err3
is "next start: exit 0" "$?" 0
is "replayed: 8 + 25 servings" "$(sql 'select count(*) from servings')" 33
check "replayed: the spool is gone" test ! -e scen.db.spool
is "the job was adopted and finished" "$(sql "select state from jobs where jid = '$job'")" "done"
is "its scenario is stored" "$(sql 'select count(*) from scenarios')" 9
scen-cache-stats --verify >v.out 2>&1
is "--verify after the replay" "$?:$(tail -n 1 v.out)" "0:0 problems found"

# --ordered, read-only from the first turn: answers in input order
{
	design 8 o1
	echo 'not json'
	req o-miss so-miss male older warm 3
	design 8 o2
} >in4
SCEN_DB_FAIL_AFTER=1 scen-serve-stdin --ordered <in4 >out4 2>err4
is "--ordered: exit 0" "$?" 0
is "--ordered: input order" "$(j 'r["id"] or "line %d" % r["line"]' out4 | tr '\n' ' ')" \
	"o10 o11 o12 o13 o14 o15 o16 o17 line 9 o-miss o20 o21 o22 o23 o24 o25 o26 o27 "
is "--ordered: the ids of all lines" "$(wc -l <out4)" 18
is "--ordered: spooled" "$(grep -c '"type":"serving"' scen.db.spool)" 16
scen-serve-stdin </dev/null >/dev/null 2>&1
is "--ordered: replayed" "$(sql 'select count(*) from servings')" 49

# --ordered, read-only after answers were committed but held back behind
# a request waiting for a generation: those are written, in order, once
# the waiting request is answered from memory
design 8 p1 >in4b
design 8 p2 >in4c
fake_ctl '{"mode":"slow","delay_ms":8000}'
rm -f fifo && mkfifo fifo
# read-only once p1's answers are committed (a process with a job of its
# own also commits heartbeats: turns cannot be counted)
rm -f readonly.now
SCEN_DB_FAIL_FILE=$T/readonly.now scen-serve-stdin --ordered <fifo >out4b 2>err4b &
pid=$!
exec 3>fifo
jobs0=$(sql 'select count(*) from jobs')
req p-miss sp-miss female younger neutral 9 >&3
wait_sql 'select count(*) from jobs' $((jobs0 + 1))
cat in4b >&3
wait_sql 'select count(*) from servings' 57
touch readonly.now
cat in4c >&3
exec 3>&-
wait $pid
is "--ordered, held back: exit 0" "$?" 0
is "--ordered, held back: input order" "$(j 'r["id"]' out4b | tr '\n' ' ')" \
	"p-miss p10 p11 p12 p13 p14 p15 p16 p17 p20 p21 p22 p23 p24 p25 p26 p27 "
is "--ordered, held back: the waiting one from memory" "$(head -n 1 out4b | j 'r["tier"]')" relaxed
is "--ordered, held back: committed, then spooled" \
	"$(( $(sql 'select count(*) from servings') - 49 )):$(grep -c '"type":"serving"' scen.db.spool)" "8:9"
fake_ctl '{"mode":"ok"}'
scen-serve-stdin </dev/null >/dev/null 2>&1
is "--ordered, held back: replayed" "$(sql 'select count(*) from servings')" 66

# a process serving from memory holds its spool: another start does not
# replay it under it, and sees what it served (no repeat to a session).
# One scenario fits pos-1 exactly; session x gets it from the first
# process, then asks the second process for the same.
rm -f fifo && mkfifo fifo
SCEN_DB_FAIL_AFTER=1 scen-serve-stdin <fifo >out5 2>err5 &
pid=$!
exec 3>fifo
req x1 sx female younger neutral 1 >&3
wait_lines out5 1
is "the first process serves from memory" "$(j 'r["tier"]' out5)" cache
s1=$(j 'r["scenario_id"]' out5)
req x2 sx female younger neutral 1 | scen-serve-stdin >out6 2>err6
is "the second process: exit 0" "$?" 0
check "it leaves the spool in use alone" grep -q "scen.db.spool: in use by another process (a scen-serve-stdin serving from memory, or a replay); left to it" err6
check "the spool is still there" test -s scen.db.spool
is "it does not serve the session the same scenario" \
	"$(j 'r["status"] + " " + str(r["scenario_id"] != "'"$s1"'")' out6)" "ok True"
s2=$(j 'r["scenario_id"]' out6)
# a third process that cannot write either: it shares the spool with the
# first, and sees what both others served the session
req x3 sx female younger neutral 1 | SCEN_DB_FAIL_AFTER=1 scen-serve-stdin >out6b 2>err6b
is "a second process serving from memory: exit 0" "$?" 0
is "... it serves the session neither scenario" \
	"$(j 'r["status"] + " " + str(r["scenario_id"] not in ("'"$s1"'", "'"$s2"'"))' out6b)" "ok True"
is "... and spools to the same file" "$(grep -c '"session":"sx"' scen.db.spool)" 2
exec 3>&-
wait $pid
is "the first process: exit 0" "$?" 0
scen-serve-stdin </dev/null >out7 2>err7
check "then the next start replays it" test ! -e scen.db.spool
is "no session got a scenario twice" "$(sql 'select count(*) from (select 1 from servings group by session, scenario having count(*) > 1)')" 0
is "the session has its three" "$(sql "select count(*) from servings where session = 'sx'")" 3

# neither the database nor the spool can be written: nothing that would
# need recording is served
mkdir scen.db.spool
design 8 z >in8
echo 'not json' >>in8
SCEN_DB_FAIL_AFTER=1 scen-serve-stdin <in8 >out8 2>err8
is "no spool: exit 74" "$?" 74
is "no spool: every line answered, unavailable" \
	"$(j 'r["status"]' out8 | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" "1error 8unavailable "
check "no spool: said why" grep -q "cannot open the spool" err8
check "no spool: and what it does" grep -q "neither the database nor $T/scen.db.spool can be written: answering unavailable" err8
rmdir scen.db.spool
is "no spool: nothing recorded" "$(sql 'select count(*) from servings')" 69
done_testing
