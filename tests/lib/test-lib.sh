# test-lib.sh — shared by the end-to-end tests (tests/e2e/t*.sh): a
# scratch folder, the fake provider on 127.0.0.1, a config, and TAP
# assertions. Source it first thing: . "$(dirname "$0")/../lib/test-lib.sh"
set -u
SCEN_TOP=${SCEN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SCEN_BUILD=${SCEN_BUILD:-$SCEN_TOP/build-test}
PATH=$SCEN_BUILD/bin:$PATH
# the tests drive time and the database through the test hooks, which only
# a test build holds (see the Makefile): a build without them would fail
# them for no reason of their own
if ! grep -q SCEN_CLOCK_SCALE "$SCEN_BUILD/bin/scen-gen" 2>/dev/null; then
	echo "Bail out! $SCEN_BUILD/bin/scen-gen is missing or not a test build" \
		"(no test hooks): make B=build-test all"
	exit 1
fi
if [ -n "${SCEN_VALGRIND_DIR:-}" ]; then
	# make check-valgrind: every command under memcheck, a report each
	mkdir -p "$SCEN_VALGRIND_DIR/bin"
	for c in "$SCEN_BUILD"/bin/*; do
		cat >"$SCEN_VALGRIND_DIR/bin/${c##*/}" <<VG
#!/bin/sh
exec valgrind -q --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite --track-origins=yes \
	--log-file="$SCEN_VALGRIND_DIR/%p.log" "$c" "\$@"
VG
		chmod +x "$SCEN_VALGRIND_DIR/bin/${c##*/}"
	done
	PATH=$SCEN_VALGRIND_DIR/bin:$PATH
fi
export PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/scen-test.XXXXXX")
FAKE_PID=
_n=0
_failed=0
# keys for the fake provider: made up per run, never real
export SCEN_TEST_KEY_1="test-key-one-$$" SCEN_TEST_KEY_2="test-key-two-$$" \
	SCEN_TEST_KEY_3="test-key-three-$$"
unset SCEN_CONFIG SCEN_CLOCK_SCALE SCEN_CLOCK_EPOCH

cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	[ "$_failed" -eq 0 ] && rm -rf "$T"
	return 0
}
trap cleanup EXIT

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
# check DESC COMMAND...: passes when the command succeeds
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		echo "#   got:  '$2'"
		echo "#   want: '$3'"
	fi
}
# cmp_num DESC A OP B  (OP one of -eq -ne -lt -le -gt -ge)
cmp_num() {
	if [ "$2" "$3" "$4" ] 2>/dev/null; then ok "$1"; else
		not_ok "$1"
		echo "#   $2 $3 $4 is false"
	fi
}
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# j EXPR [FILE]: evaluates a Python expression over each JSON line of FILE
# (or stdin), bound to `r`; prints one result per line.
j() {
	python3 -c '
import json, sys
expr = sys.argv[1]
src = open(sys.argv[2], encoding="utf-8", errors="replace") if len(sys.argv) > 2 else sys.stdin
for line in src:
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    v = eval(expr, {"r": r, "json": json})
    print(v if not isinstance(v, (dict, list)) else json.dumps(v))
' "$@"
}

# fake_start [ARGS]: starts the fake provider; sets FAKE_PORT and FAKE_URL.
fake_start() {
	rm -f "$T/fake.port"
	python3 "$SCEN_TOP/tests/lib/fake-provider.py" --port-file "$T/fake.port" \
		--keys "$SCEN_TEST_KEY_1,$SCEN_TEST_KEY_2,$SCEN_TEST_KEY_3" \
		--log "$T/fake.log" "$@" >"$T/fake.out" 2>&1 &
	FAKE_PID=$!
	for _i in $(seq 1 100); do
		[ -s "$T/fake.port" ] && break
		sleep 0.05
	done
	FAKE_PORT=$(cat "$T/fake.port")
	FAKE_URL="http://127.0.0.1:$FAKE_PORT/openai/v1"
}
fake_stop() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}
# fake_ctl JSON: changes the fake's mode (see fake-provider.py)
fake_ctl() {
	curl -s -o /dev/null -X POST --data "$1" "http://127.0.0.1:$FAKE_PORT/_control"
}
fake_reset() {
	curl -s -o /dev/null -X POST "http://127.0.0.1:$FAKE_PORT/_reset"
}
# fake_stat EXPR: a figure from /_stats, e.g. fake_stat 'r["calls"]'
fake_stat() {
	curl -s "http://127.0.0.1:$FAKE_PORT/_stats" | j "$1"
}

# proxy_start RULE: tests/lib/batch-proxy.py before the fake (started
# first), answering as RULE says; sets PROXY_URL (stopped at exit)
proxy_start() {
	rm -f "$T/proxy.port"
	python3 "$SCEN_TOP/tests/lib/batch-proxy.py" "$T/proxy.port" "$FAKE_PORT" "$1" \
		>"$T/proxy.out" 2>&1 &
	PROXY_PID=$!
	trap 'kill $PROXY_PID 2>/dev/null; cleanup' EXIT
	for _i in $(seq 1 100); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
	PROXY_URL="http://127.0.0.1:$(cat "$T/proxy.port")/openai/v1"
}

# write_config [FILE] : the standard test config (two hard factors, one soft
# factor, a soft position), pointing at the fake; extra YAML on stdin is
# appended when given with a here-document.
write_config() {
	f=${1:-$T/scen.yaml}
	url=${FAKE_URL:-http://127.0.0.1:9/openai/v1}
	prompt=${PROMPT:-"Write a 120-word scenario about a hiring decision for a {age} {gender} candidate, told in a {tone} tone. Scene {position} of 10."}
	cat >"$f" <<YAML
database: scen.db
provider:
  base_url: $url
  model: llama-3.1-8b-instant
  timeout_s: ${TIMEOUT_S:-3}
  deadline_s: ${DEADLINE_S:-4}
  max_concurrency: ${MAX_CONCURRENCY:-8}
${DAY_RESETS_AT:+  day_resets_at: \"$DAY_RESETS_AT\"
}  accounts:
    - {name: groq-a, api_key_env: SCEN_TEST_KEY_1, rpm: ${RPM:-1000}${RPD:+, rpd: $RPD}}
    - {name: groq-b, api_key_env: SCEN_TEST_KEY_2, rpm: ${RPM:-1000}${RPD:+, rpd: $RPD}}
${ACCOUNT_3:+    - {name: groq-c, api_key_env: SCEN_TEST_KEY_3, rpm: ${RPM:-1000}\}}
  breaker: {failures: ${BREAKER_FAILURES:-5}, cooldown_s: ${COOLDOWN_S:-60}}
cache:
  max_serves: ${MAX_SERVES:-50}
  hit_rate_band: [${BAND_LO:-0.60}, ${BAND_HI:-1.0}]
fallback: [${FALLBACK:-cache, fresh, pool, relaxed}]
experiments:
  trust-2026:
    system: "You write short, realistic workplace scenarios for a psychology study."
    templates:
      hiring:
        prompt: "$prompt"
        factors:
          gender: {levels: [female, male]}
          age: {levels: [younger, older]}
          tone: {levels: [neutral, warm, cold], weight: 1}
        position: {min: 1, max: 10, weight: 1}
        validate: {min_chars: 200, max_chars: 2000, reject: ["as an ai", "i can't", "i cannot"]}
  other-2026:
    system: "You write short scenarios."
    templates:
      hiring:
        prompt: "Write about a {gender} candidate."
        factors:
          gender: {levels: [female, male]}
YAML
	export SCEN_CONFIG=$f
}

# config_with_db DB: the config ($SCEN_CONFIG) with database: DB (a file
# or a PostgreSQL URI), on stdout
config_with_db() {
	echo "database: \"$1\""
	grep -v '^database:' "$SCEN_CONFIG"
}

# write_pool_config: write_config plus experiment pool-2026 (brief: 2 hard
# x 2 soft levels x 3 positions = 12 combinations; note: 2) and a pool:
# section of VARIANTS (default 2) variants and a quota_share of SHARE
# (default 0.5).
write_pool_config() {
	write_config "$@"
	cat >>"$SCEN_CONFIG" <<YAML
  pool-2026:
    system: "You write short scenarios for a pool test."
    templates:
      brief:
        prompt: "Write a scenario for a {gender} manager in a {tone} tone. Scene {position} of 3."
        factors:
          gender: {levels: [female, male]}
          tone: {levels: [neutral, warm], weight: 1}
        position: {min: 1, max: 3, weight: 1}
        validate: {min_chars: 200, max_chars: 2000}
      note:
        prompt: "Write a note about an {age} colleague."
        factors:
          age: {levels: [younger, older]}
        validate: {reject: ["as an ai"]}
pool: {variants: ${VARIANTS:-2}, max_age_days: 7, quota_share: ${SHARE:-0.5}}
YAML
}

# write_batch_config MODE: write_config plus experiment batch-2026 (brief:
# 10 topics x 5 tones x SCENES scenes (default 20) = 50 x SCENES
# combinations, texts of MIN_CHARS (default 200) to 2000 characters) and
# a pool: section of VARIANTS (default 2) variants, a quota_share of SHARE
# (default 0), pool.mode MODE and, when set, batch_attempts ATTEMPTS.
write_batch_config() {
	write_config
	cat >>"$SCEN_CONFIG" <<YAML
  batch-2026:
    system: "You write short scenarios for a batch test."
    templates:
      brief:
        prompt: "Write a scenario about topic {topic} in a {tone} tone. Scene {position} of 20."
        factors:
          topic: {levels: [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9]}
          tone: {levels: [neutral, warm, cold, dry, calm], weight: 1}
        position: {min: 1, max: ${SCENES:-20}, weight: 1}
        validate: {min_chars: ${MIN_CHARS:-200}, max_chars: 2000, reject: ["as an ai", "i can't", "i cannot"]}
pool: {variants: ${VARIANTS:-2}, max_age_days: 7, quota_share: ${SHARE:-0}, mode: $1${ATTEMPTS:+, batch_attempts: $ATTEMPTS}}
YAML
}

# design N [SESSION_PREFIX]: N distinct request lines (different exact keys;
# up to 120), each from its own session
design() {
	python3 -c '
import json, sys
n, pre = int(sys.argv[1]), sys.argv[2]
i = 0
for g in ["female", "male"]:
    for a in ["younger", "older"]:
        for t in ["neutral", "warm", "cold"]:
            for p in range(1, 11):
                if i == n:
                    sys.exit(0)
                print(json.dumps({"id": "%s%d" % (pre, i), "session": "%s-s%d" % (pre, i),
                    "experiment": "trust-2026", "template": "hiring",
                    "factors": {"gender": g, "age": a, "tone": t}, "position": p}))
                i += 1
' "$1" "${2:-d}"
}

# req ID SESSION [GENDER AGE TONE POSITION [EXPERIMENT]]: one request line
req() {
	printf '{"id":"%s","session":"%s","experiment":"%s","template":"hiring","factors":{"gender":"%s","age":"%s","tone":"%s"},"position":%s}\n' \
		"$1" "$2" "${7:-trust-2026}" "${3:-female}" "${4:-older}" "${5:-warm}" "${6:-3}"
}

# wait_lines FILE N: waits (up to 10 s) until FILE has N lines
wait_lines() {
	for _w in $(seq 1 100); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_for COMMAND...: polls COMMAND until it succeeds (up to 20 s)
wait_for() {
	for _i in $(seq 1 400); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# json_ints [FILE]: the integer fields of a JSON document (FILE, else
# stdin), one "path value" a line, sorted by path: the counts of
# scen-cache-stats --json, compared where its times differ
json_ints() {
	python3 -c '
import json, sys
def walk(v, path):
    if isinstance(v, dict):
        for k in sorted(v):
            walk(v[k], path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, "%s[%d]" % (path, i))
    elif isinstance(v, int) and not isinstance(v, bool):
        print(path, v)
walk(json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin), "")
' "$@"
}

# wait_sql QUERY VALUE: waits (up to 10 s) until QUERY gives VALUE
wait_sql() {
	for _w in $(seq 1 100); do
		[ "$(sql "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# damage_page DB INDEX: overwrites the head of INDEX's root page in DB
# with bytes SQLite cannot read
damage_page() {
	python3 - "$1" "$2" <<'PY'
import sqlite3, sys
path, name = sys.argv[1], sys.argv[2]
c = sqlite3.connect(path)
root = c.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?",
                 (name,)).fetchone()[0]
size = c.execute("PRAGMA page_size").fetchone()[0]
c.close()
with open(path, "r+b") as f:
    f.seek((root - 1) * size)
    f.write(b"\x0d" + b"\xff" * 64)
PY
}

# busiest_minute: the most calls the fake answered 200 on one key within
# any 60 (virtual) seconds, from its log
busiest_minute() {
	python3 - "$T/fake.log" <<'PY'
import collections, json, sys
per = collections.defaultdict(list)
for r in map(json.loads, open(sys.argv[1])):
    if r["status"] == 200:
        per[r["key_id"]].append(r["vt"])
worst = 0
for v in per.values():
    v.sort()
    j = 0
    for i in range(len(v)):
        while v[i] - v[j] >= 60:
            j += 1
        worst = max(worst, i - j + 1)
print(worst)
PY
}

# reset_far: a day_resets_at 12 hours from now (HH:MMZ), so that no quota
# day ends during a test
reset_far() {
	python3 -c 'import time; print(time.strftime("%H:%MZ", time.gmtime(time.time() + 43200)))'
}

# sql QUERY: runs a query on the test database (read-only)
sql() {
	python3 -c '
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for row in c.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
' "$T/scen.db" "$1"
}
cd "$T" || exit 1
