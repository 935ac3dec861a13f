# The same run on a SQLite file and on a PostgreSQL database gives the same
# records: one config, one input (fresh, cache, a no-repeat session asking
# again, relaxed once the accounts' day is spent, an --async request and
# its poll, a pool fill), the provider's answers and a stopped clock
# (SCEN_CLOCK_SCALE=1e-300) the same, so that scen-export's servings,
# scenarios and templates, in JSONL and CSV, are the same in the order
# they are exported (serving and storing order), and so are the integer
# figures of scen-cache-stats --json. Left out, as they differ by nature
# (scen-export(1)): scenario_id and job, random identifiers (each is
# replaced by its rank of first appearance, so that which serving shows
# which scenario is still compared), and latency_ms, measured.
# The other formats of scen-cache-stats, --check and scen-gen work on both
# alike. Then an --async request accepted by one process on the URI is
# polled from another.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
fake_start
pg_start
export SCEN_CLOCK_SCALE=1e-300 SCEN_CLOCK_EPOCH=1772620200
MAX_CONCURRENCY=1 VARIANTS=1 RPD=6 DAY_RESETS_AT="00:00Z" write_pool_config
# one account: which of two a run starts with is drawn at random
sed -i '/name: groq-b/d' "$SCEN_CONFIG"
mkdir sqlite pgdb
cp "$SCEN_CONFIG" sqlite/scen.yaml
config_with_db "$SCEN_PG_URI" \
	>pgdb/scen.yaml

# the run, in the current directory: one process a step, so that what
# each answers does not hang on timing
study() {
	export SCEN_CONFIG=$PWD/scen.yaml
	fake_reset
	scen-pool-fill --experiment pool-2026 --template note >fill.out 2>fill.err
	{
		req r1 s1 female older warm 3	# fresh
		req r2 s2 female older warm 3	# cache
		req r3 s1 female older warm 3	# s1 had it: another one
	} | scen-serve-stdin --ordered >serve1.out 2>serve1.err
	req r4 s3 male younger cold 5 | scen-serve-stdin --async >async.out 2>async.err
	job=$(j 'r.get("job", "")' async.out | head -n 1)
	printf '{"id":"p1","op":"status","job":"%s","session":"s3"}\n' "$job" |
		scen-serve-stdin >poll.out 2>poll.err
	# the accounts' day is spent: a neighbour, relaxed
	fake_ctl '{"mode":"429day"}'
	req r5 s4 female older warm 4 | scen-serve-stdin >serve2.out 2>serve2.err
	fake_ctl '{"mode":"ok"}'
	for w in servings scenarios templates; do
		for f in jsonl csv; do
			scen-export --what $w --format $f >"$w.$f" 2>>export.err
		done
	done
	scen-cache-stats --json >stats.json 2>stats.err
	# the other formats, --check and scen-gen, after what is compared
	for f in table --prometheus "--html -"; do
		# shellcheck disable=SC2086
		scen-cache-stats ${f#table} >"stats.${f%% *}" 2>>stats.err
		echo "$f $?" >>stats.rc
	done
	scen-cache-stats --check >check.out 2>>stats.err
	echo "check $?" >>stats.rc
	scen-gen --experiment trust-2026 --template hiring --factor gender=male \
		--factor age=older --factor tone=neutral --position 7 >gen.out 2>gen.err
	echo "gen $?" >>stats.rc
}
(cd sqlite && study)
(cd pgdb && study)
check "PostgreSQL: no SQLite file made" test ! -e pgdb/scen.db
for d in sqlite pgdb; do
	is "$d: the pool fill: complete" "$(grep -c '^result: complete$' $d/fill.out)" 1
	is "$d: the answers" \
		"$(cat $d/serve1.out $d/async.out $d/poll.out $d/serve2.out | j 'r["id"] + ":" + r["status"] + "/" + r.get("tier", r.get("state", ""))' | tr '\n' ' ')" \
		"r1:ok/fresh r2:ok/cache r3:ok/fresh r4:generating/ r4:ok/fresh p1:ok/fresh r5:ok/relaxed "
	is "$d: on stderr, only the account set aside" \
		"$(cat $d/serve1.err $d/async.err $d/poll.err $d/serve2.err $d/export.err $d/stats.err)" \
		"scen-serve-stdin: account groq-a set aside for 579 s (its budget is spent)"
done

# FILE: FILE with its random identifiers numbered by first appearance and
# latency_ms left out
normal() {
	python3 - "$1" <<'PY'
import csv, io, json, re, sys
path = sys.argv[1]
ids = {}
def rank(m):
    return ids.setdefault(m.group(0), "%s%d" % (m.group(1), len(ids) + 1))
text = re.sub(r"\b(sc-|j-)[0-9a-f]{16}\b", rank, open(path, newline="").read())
if path.endswith(".jsonl"):
    for line in text.splitlines():
        r = json.loads(line)
        r.pop("latency_ms", None)
        print(json.dumps(r, sort_keys=False))
else:
    rows = list(csv.reader(io.StringIO(text)))
    drop = [i for i, n in enumerate(rows[0]) if n == "latency_ms"]
    for row in rows:
        print(json.dumps([v for i, v in enumerate(row) if i not in drop]))
PY
}
for w in servings scenarios templates; do
	for f in jsonl csv; do
		normal sqlite/$w.$f >a
		normal pgdb/$w.$f >b
		if cmp -s a b && [ -s a ]; then ok "$w.$f: the same"; else
			not_ok "$w.$f: the same"
			diff a b | head -10 | sed 's/^/#   /'
		fi
	done
done
is "servings: one per ok answer (the poll is none)" "$(wc -l <pgdb/servings.jsonl)" 5

# every command, every format of scen-cache-stats, on both
is "the other formats, --check, scen-gen: the same statuses" \
	"$(cat pgdb/stats.rc | tr '\n' ' ')" "$(cat sqlite/stats.rc | tr '\n' ' ')"
is "... scen-gen: the day's budget spent, told alike" \
	"$(j 'r["status"]' pgdb/gen.out):$(tail -n 1 pgdb/stats.rc)" "unavailable:gen 69"
is "... Prometheus: the same series" \
	"$(grep -v '^#' pgdb/stats.--prometheus | sed 's/ .*//' | sort | cksum)" \
	"$(grep -v '^#' sqlite/stats.--prometheus | sed 's/ .*//' | sort | cksum)"
is "... the table and the HTML page: as many lines" \
	"$(wc -l <pgdb/stats.table):$(wc -l <pgdb/stats.--html)" \
	"$(wc -l <sqlite/stats.table):$(wc -l <sqlite/stats.--html)"
is "... --check: the same alerts" "$(cat pgdb/check.out)" "$(cat sqlite/check.out)"

# the integer figures of scen-cache-stats --json
json_ints sqlite/stats.json >a
json_ints pgdb/stats.json >b
cmp_num "stats: integer figures ($(wc -l <a))" "$(wc -l <a)" -gt 10
if cmp -s a b; then ok "stats: the same counts"; else
	not_ok "stats: the same counts"
	diff a b | head -10 | sed 's/^/#   /'
fi

# two hosts on the URI, the clock running: an --async request accepted on
# host A, polled from host B while the call is out and once it is done
unset SCEN_CLOCK_SCALE SCEN_CLOCK_EPOCH
pg_sql "CREATE DATABASE hosts" >/dev/null
mkdir hostA hostB
for h in hostA hostB; do
	# (a call and a wait longer than host B takes to start, even under a
	# sanitizer)
	sed -e "s|^database:.*|database: \"postgresql:///hosts?host=$PG_DIR\&user=scen\"|" \
		-e 's/^  timeout_s: .*/  timeout_s: 20/' \
		-e 's/^  deadline_s: .*/  deadline_s: 20/' pgdb/scen.yaml >$h/scen.yaml
done
fake_reset
fake_ctl '{"mode":"slow","delay_ms":5000}'
poll() {	# poll ID: host B asks for the job
	printf '{"id":"%s","op":"status","job":"%s","session":"sa"}\n' "$1" "$job" |
		(cd hostB && SCEN_CONFIG=$PWD/scen.yaml scen-serve-stdin)
}
mkfifo fifo
(cd hostA && SCEN_CONFIG=$PWD/scen.yaml exec scen-serve-stdin --async <../fifo >out 2>err) &
pa=$!
exec 3>fifo
req a1 sa male older neutral 6 >&3
check "host A: generating" wait_lines hostA/out 1
job=$(j 'r.get("job", "")' hostA/out | head -n 1)
is "host B, while the call is out: still generating" \
	"$(poll b1 | j 'r["status"] + "/" + r["state"]')" "generating/running"
check "host A: the final answer" wait_lines hostA/out 2
exec 3>&-
wait "$pa"
is "host B, once done: the scenario host A served" \
	"$(poll b2 | j 'r["status"] + " " + r["scenario_id"]')" \
	"ok $(sed -n 2p hostA/out | j 'r["scenario_id"]')"
done_testing
