# scen-cache-stats: the table, JSON, Prometheus, HTML and --check outputs
# of a fixed database at a fixed moment are byte for byte the golden files
# in tests/data/stats-golden/ (a change of any format shows as a diff
# there). The database is made by make-db.py from fixed rows; the clock is
# stopped at NOW (SCEN_CLOCK_SCALE=1e-300 from SCEN_CLOCK_EPOCH).
# SCEN_GOLDEN_UPDATE=1 writes the files anew instead of comparing.
. "$(dirname "$0")/../lib/test-lib.sh"
G=$SCEN_TOP/tests/data/stats-golden
NOW=1772620200	# 2026-03-04T10:30:00Z
export SCEN_CONFIG=$T/scen.yaml SCEN_CLOCK_SCALE=1e-300 SCEN_CLOCK_EPOCH=$NOW
cp "$G/scen.yaml" "$SCEN_CONFIG"
scen-gen </dev/null 2>gen.err
is "scen-gen made the schema: exit 0" "$?" 0
python3 "$G/make-db.py" scen.db "$NOW"
is "make-db.py: exit 0" "$?" 0

# NAME ARGS...: runs scen-cache-stats --db scen.db ARGS into NAME, its
# exit status on the last line
run() {
	name=$1
	shift
	scen-cache-stats --db scen.db "$@" >"$name" 2>"$name.err"
	echo "exit $?" >>"$name"
}
outputs="table.txt table-since.txt stats.json stats.prom report.html
	report-since.html check.txt"
make_outputs() {
	run table.txt
	run table-since.txt --since 2026-03-02T06:00:00Z
	run stats.json --json
	run stats.prom --prometheus
	run report.html --html -
	run report-since.html --html - --since 2026-03-02T06:00:00Z
	run check.txt --check
}
make_outputs
if [ -n "${SCEN_GOLDEN_UPDATE:-}" ]; then
	for f in $outputs; do cp "$f" "$G/$f"; done
fi
for f in $outputs; do
	if cmp -s "$f" "$G/$f"; then
		ok "$f is the golden file"
	else
		not_ok "$f is the golden file"
		diff -u "$G/$f" "$f" | head -40 | sed 's/^/#   /'
	fi
	is "$f: nothing on standard error" "$(cat "$f.err")" ""
done
is "--check: CRITICAL, exit 2" "$(head -c 13 check.txt) $(tail -1 check.txt)" \
	"SCEN CRITICAL exit 2"

# the hit rate under Prometheus's name (scen_hit_rate_ratio), and for one
# release under its former one too, the same figures, marked deprecated
series() { grep "^$1{" stats.prom | sed 's/^[a-z_]*//'; }
check "scen_hit_rate_ratio: a series per window" \
	test "$(series scen_hit_rate_ratio | wc -l)" -eq 3
is "scen_hit_rate: the same series as scen_hit_rate_ratio" \
	"$(series scen_hit_rate)" "$(series scen_hit_rate_ratio)"
is "scen_hit_rate: HELP says it is deprecated" \
	"$(grep -c '^# HELP scen_hit_rate Deprecated: scen_hit_rate_ratio' stats.prom)" 1

# the same again: nothing in the outputs depends on the run
mkdir again && cd again || exit 1
cp "$G/scen.yaml" scen.yaml
SCEN_CONFIG=$PWD/scen.yaml scen-gen </dev/null 2>/dev/null
python3 "$G/make-db.py" scen.db "$NOW"
SCEN_CONFIG=$PWD/scen.yaml make_outputs
for f in $outputs; do
	check "a second database and run: $f the same" cmp -s "$f" "../$f"
done
done_testing
