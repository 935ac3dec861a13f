# A database that fills up in the middle of a scen-serve-stdin stream
# (SCEN_DB_MAX_PAGES caps it): every line is still answered, from memory
# (cache hits ok, misses unavailable: no provider call is made), with one
# warning; the servings go to a 0600 spool next to the database, which the
# next start replays, once, and removes. A replay cut short before the
# spool's removal adds nothing the second time.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
FALLBACK="cache, fresh, relaxed" write_config

# eight scenarios, one per exact key
design 8 a | scen-serve-stdin >out1 2>err1
design 8 x >base
# hits K1 K2 PREFIX: the eight keys again, from new sessions, K1..K2 times
hits() {
	for k in $(seq "$1" "$2"); do sed "s/\"x/\"$3$k-/g" base; done
}
is "setup: eight fresh scenarios" "$(j 'r["tier"]' out1 | sort | uniq -c | awk '{print $1 $2}')" 8fresh
calls0=$(fake_stat 'r["calls"]')

# 300 cache hits from new sessions, in bursts (several turns): the first
# is committed, the database fills up in the second; then a bad line and
# a miss (its hard factors match no stored scenario)
hits 1 40 h >in2.all
head -n 300 in2.all >in2
# room for the first burst only: three more pages
pages=$(( $(sql 'select page_count from pragma_page_count') + 3 ))
sed -n 21,280p in2 >in2.b
{
	tail -n 20 in2
	echo 'not json'
	req miss2 zz2 male older warm 3
} >in2.c
rm -f fifo && mkfifo fifo
SCEN_DB_MAX_PAGES=$pages scen-serve-stdin <fifo >out2 2>err2 &
pid=$!
exec 3>fifo
head -n 20 in2 >&3
wait_sql 'select count(*) from servings' 28
cat in2.b >&3
sleep 0.3
cat in2.c >&3
exec 3>&-
wait $pid
is "full disk: exit 0" "$?" 0
is "every line answered" "$(wc -l <out2)" 302
is "one answer per id" "$(j 'r["id"]' out2 | sort -u | wc -l)" 302
is "the hits are ok" "$(j 'r["status"]' out2 | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" \
	"1error 300ok 1unavailable "
is "the miss is unavailable" "$(grep '"miss2"' out2 | j 'r["status"]')" unavailable
is "the bad line is an error" "$(grep '"error"' out2 | j 'r["error"]')" invalid_json
is "no provider call once full" "$(fake_stat 'r["calls"]')" "$calls0"
is "the warning, once" \
	"$(grep -c "warning: database full: serving from memory, servings spooled to $T/scen.db.spool" err2)" 1
check "the failing statement is reported" grep -q "database or disk is full" err2
check "the spool exists" test -f scen.db.spool
is "the spool is private" "$(stat -c %a scen.db.spool)" 600
in_db=$(sql 'select count(*) from servings')
spooled=$(grep -c '"type":"serving"' scen.db.spool)
cmp_num "some servings were committed before it filled up" "$in_db" -gt 8
cmp_num "some were spooled" "$spooled" -gt 0
is "committed + spooled = ok answers" "$((in_db + spooled))" 308
check "the end says where the servings are" grep -q "$spooled servings are in $T/scen.db.spool" err2

# what was spooled is what was answered: ids, scenarios, texts
python3 - scen.db scen.db.spool out1 out2 >check.out <<'PY'
import json, sqlite3, sys
db, spool, outs = sys.argv[1], sys.argv[2], sys.argv[3:]
c = sqlite3.connect("file:" + db + "?mode=ro", uri=True)
rows = {(r, s): sid for r, s, sid in c.execute(
    "SELECT v.request_id, v.session, s.sid FROM servings v"
    " JOIN scenarios s ON s.id = v.scenario")}
texts = dict(c.execute("SELECT sid, text FROM scenarios"))
for line in open(spool):
    r = json.loads(line)
    if r["type"] == "serving":
        assert (r["request_id"], r["session"]) not in rows, "twice"
        rows[(r["request_id"], r["session"])] = r["scenario_id"]
bad = 0
seen = set()
for f in outs:
    for line in open(f):
        a = json.loads(line)
        if a["status"] != "ok":
            continue
        keys = [k for k in rows if k[0] == a["id"]]
        if len(keys) != 1 or rows[keys[0]] != a["scenario_id"]:
            bad += 1
        if texts.get(a["scenario_id"]) != a["text"]:
            bad += 1
        pair = (keys[0][1] if keys else None, a["scenario_id"])
        if pair in seen:
            bad += 1
        seen.add(pair)
print(bad)
PY
is "each ok answer is recorded once, with its scenario and text" "$(cat check.out)" 0

# add a damaged line, and a torn last record (a writer killed mid-batch)
echo '{"type":"serving","uid":"sp-x","scenario_id":"sc-nonesuch"}' >spool.bad
cat spool.bad scen.db.spool >spool.saved
printf '{"type":"serving","uid":"torn' >>spool.saved
cp spool.saved scen.db.spool

# the next start replays it, then serves as usual
req after1 after-s1 female younger neutral 1 | scen-serve-stdin >out3 2>err3
is "next start: exit 0" "$?" 0
is "next start: served" "$(j 'r["status"]' out3)" ok
is "replayed: every ok answer has its serving" "$(sql 'select count(*) from servings')" 309
check "replayed: the spool is gone" test ! -e scen.db.spool
check "replayed: said so" grep -q "scen.db.spool: $spooled spooled servings added to the database" err3
check "the damaged line is kept aside" cmp -s spool.bad scen.db.spool.rejected
is "... and it is private" "$(stat -c %a scen.db.spool.rejected)" 600
check "... and named" grep -q "scen.db.spool:1: not replayed" err3
is "the replay is an event" "$(sql "select count(*) from events where kind = 'spool_replayed'")" 1
scen-cache-stats --verify >v.out 2>&1
is "--verify after the replay: counts, counters, repeats agree" "$?:$(tail -n 1 v.out)" "0:0 problems found"

# a crash after the replay's commit, before the spool's removal: the
# spool is replayed again and adds nothing
cp spool.saved scen.db.spool
scen-serve-stdin </dev/null >out4 2>err4
is "replayed again: exit 0" "$?" 0
is "replayed again: no serving added twice" "$(sql 'select count(*) from servings')" 309
check "replayed again: said so" grep -q "0 spooled servings added to the database (the rest were added before)" err4
check "replayed again: the spool is gone" test ! -e scen.db.spool
scen-cache-stats --verify >v2.out 2>&1
is "--verify after the second replay" "$?:$(tail -n 1 v2.out)" "0:0 problems found"

# full from the start of a run: it serves from memory at once; and a
# replay into a database that is still full keeps the spool for later
hits 41 45 k >in5
SCEN_DB_MAX_PAGES=1 scen-serve-stdin <in5 >out5 2>err5
is "full again: exit 0" "$?" 0
is "full again: answered" "$(j 'r["status"]' out5 | sort | uniq -c | awk '{print $1 $2}')" 40ok
n5=$(grep -c '"type":"serving"' scen.db.spool 2>/dev/null)
is "full again: servings committed or spooled" "$(( $(sql 'select count(*) from servings') + n5 ))" 349
cp scen.db.spool spool5 2>/dev/null
SCEN_DB_MAX_PAGES=1 scen-serve-stdin </dev/null >out6 2>err6
is "a replay into a full database: exit 0" "$?" 0
check "a replay into a full database keeps the spool" cmp -s spool5 scen.db.spool
check "... and says so" grep -q "scen.db.spool: kept: its servings could not be added to the database now" err6
scen-serve-stdin </dev/null >out7 2>err7
is "room again: all there" "$(sql 'select count(*) from servings')" 349
check "room again: the spool is gone" test ! -e scen.db.spool
done_testing
