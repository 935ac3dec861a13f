# Every command under valgrind's memcheck on a short night and day of a
# study: fresh and cached answers, provider faults (429, 500, malformed,
# refusal, reset mid-body, timeout), bad lines, async jobs with status and
# cancel, a full database with its spool and replay, pool-fill, stats in
# every format with --verify, export in both formats. Each run must end
# without an invalid access, a use of uninitialised memory or a leak
# definitely lost. (make check-valgrind runs every end-to-end test so.)
if [ -z "${SCEN_VALGRIND_DIR:-}" ]; then
	SCEN_VALGRIND_DIR=$(mktemp -d "${TMPDIR:-/tmp}/scen-vg.XXXXXX")
	export SCEN_VALGRIND_DIR
	_vg_own=1
fi
_b=${SCEN_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build-test}
if grep -q __asan_init "$_b/bin/scen-serve-stdin" 2>/dev/null; then
	echo "1..0 # SKIP memcheck cannot watch a sanitizer build"
	exit 0
fi
. "$(dirname "$0")/../lib/test-lib.sh"
VG=$SCEN_VALGRIND_DIR
check "valgrind is installed" sh -c "command -v valgrind >/dev/null"
is "the commands run under memcheck" "$(command -v scen-serve-stdin)" "$VG/bin/scen-serve-stdin"
fake_start
BAND_LO=1.0 MAX_CONCURRENCY=1 TIMEOUT_S=2 DEADLINE_S=8 write_config
cat >>scen.yaml <<YAML
pool: {variants: 1, max_age_days: 7, quota_share: 0.5}
YAML

# fresh with faults on the way, then the same keys from new sessions
fake_ctl '{"mode":"script","script":["429","ok","500","ok","malformed","ok","refuse","ok","reset","ok",{"mode":"timeout","delay_ms":2500},"ok","length","ok","badshape"]}'
design 12 a | scen-serve-stdin >out1 2>err1
is "serve: every fresh request ok despite the faults" \
	"$(j 'r["status"]' out1 | sort | uniq -c | awk '{print $1 $2}')" 12ok
design 12 b | scen-serve-stdin >out2 2>err2
# (under memcheck's slowness some may have fallen through to relaxed)
fresh1=$(j 'r["id"][1:] if r["tier"] == "fresh" else ""' out1 | grep . | sort)
cmp_num "serve: most were fresh" "$(echo "$fresh1" | wc -l)" -ge 6
is "serve: those keys again are cache hits" \
	"$(j 'r["id"][1:] if r["tier"] == "cache" else ""' out2 | grep . | sort)" "$fresh1"
{
	echo 'not json'
	echo '{"id":"x1","session":"s","experiment":"nope","template":"hiring"}'
	echo '{"id":"x2","session":"s","experiment":"trust-2026","template":"hiring","factors":{"gender":"other","age":"older","tone":"warm"},"position":3}'
	printf '{"id":"x3","session":"s","experiment":"trust-2026","template":"hiring","factors":{"gender":"\\udc00"},"position":3}\n'
} | scen-serve-stdin >out3 2>err3
is "serve: bad lines are errors" "$(j 'r["status"]' out3 | sort -u)" error

# async: a job, its status, a cancel
fake_ctl '{"mode":"slow","delay_ms":1500,"count":2}'
python3 - >out4 <<'PY'
import json, subprocess
p = subprocess.Popen(["scen-serve-stdin", "--async"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True)
def send(d):
    p.stdin.write(json.dumps(d) + "\n"); p.stdin.flush()
def read():
    return json.loads(p.stdout.readline())
base = {"experiment": "trust-2026", "template": "hiring", "position": 9,
        "factors": {"gender": "male", "age": "older", "tone": "cold"}}
send(dict(base, id="g1", session="p1"))
g1 = read()
send(dict(base, id="g2", session="p2", position=10))
g2 = read()
send({"id": "s1", "op": "status", "job": g1["job"], "session": "p1"})
send({"id": "c2", "op": "cancel", "job": g2["job"], "session": "p2"})
p.stdin.close()
for line in p.stdout:
    print(line.strip())
print(json.dumps(g1)); print(json.dumps(g2))
p.wait()
PY
is "async: the first job ends ok" "$(j 'r["status"] if r["id"] == "g1" and r["status"] != "generating" else ""' out4 | grep . | sort -u)" ok
check "async: the cancel is answered" grep -q '"id":"c2"' out4

# a database that fills up: answers from memory, a spool, its replay
pages=$(( $(sql 'select page_count from pragma_page_count') + 1 ))
{ design 12 c; design 12 d; } | SCEN_DB_MAX_PAGES=$pages scen-serve-stdin >out5 2>err5
is "full disk: every hit still ok" "$(j 'r["status"]' out5 | sort | uniq -c | awk '{print $1 $2}')" 24ok
check "full disk: a spool was written" test -s scen.db.spool
design 1 e | scen-serve-stdin >out6 2>err6
check "full disk: the next start replays the spool" test ! -e scen.db.spool

# the night: pool-fill; scen-gen; then the reports
scen-pool-fill --max-calls 6 >out7 2>err7
is "pool-fill: exit 0" "$?" 0
scen-gen --experiment trust-2026 --template hiring --factor gender=female --factor age=younger \
	--factor tone=warm --position 2 >out8 2>err8
is "scen-gen: one scenario" "$(j 'r["status"]' out8)" ok
for f in "" --json --prometheus --check "--html report.html" --verify "--since 1h"; do
	# shellcheck disable=SC2086
	scen-cache-stats $f >stats.out 2>stats.err
	cmp_num "scen-cache-stats $f answers" "$?" -le 2
done
scen-export >exp.jsonl 2>exp.err
cmp_num "scen-export: the servings" "$(wc -l <exp.jsonl)" -ge 48
scen-export --format csv --what scenarios >exp.csv 2>exp.err
cmp_num "scen-export --format csv: the scenarios" "$(wc -l <exp.csv)" -ge 13
scen-export --what templates >/dev/null 2>exp.err
is "scen-export --what templates: exit 0" "$?" 0

# the verdict, one per run
runs=0 bad=0
for log in "$VG"/*.log; do
	[ -f "$log" ] || continue
	runs=$((runs + 1))
	if grep -qEf "$SCEN_TOP/tests/lib/memcheck-errors" "$log"; then
		bad=$((bad + 1))
		not_ok "memcheck: $(basename "$log") has errors"
		sed 's/^/#   /' "$log" | head -40
	fi
done
cmp_num "memcheck: every command ran under it ($runs runs)" "$runs" -ge 16
is "memcheck: no run reported an error" "$bad" 0
[ -n "${_vg_own:-}" ] && [ "$_failed" -eq 0 ] && rm -rf "$VG"
done_testing
