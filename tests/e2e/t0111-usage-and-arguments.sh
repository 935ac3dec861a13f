# Every command: its --help fits in 80 columns, a bad option is named in
# one line that points to --help (not the whole help), and a stray argument
# is named and refused with exit 64.
. "$(dirname "$0")/../lib/test-lib.sh"
n=0
for bin in "$SCEN_BUILD"/bin/*; do
	c=$(basename "$bin")
	n=$((n + 1))
	"$c" --help >help.out 2>&1
	is "$c --help: no line over 80 columns" \
		"$(awk 'length > 80 { print NR ": " $0 }' help.out)" ""
	"$c" --no-such-option >/dev/null 2>usage.err
	is "$c: a bad option: one line naming it" "$(cat usage.err)" \
		"$c: unknown option '--no-such-option' (see $c --help)"
	for args in "foo" "-q foo" "-- foo" "foo bar"; do
		# shellcheck disable=SC2086 # split on purpose
		"$c" $args </dev/null >out 2>err
		is "$c $args: exit 64" "$?" 64
		is "$c $args: names the argument" "$(head -n 1 err)" \
			"$c: unexpected argument 'foo' (see $c --help)"
		is "$c $args: nothing on standard output" "$(wc -c <out)" 0
	done
done
is "all six commands" "$n" 6
# the one line of a bad option: the nearest name as a hint, a missing
# argument by its name, a bad value with what is expected
bad() {
	want=$1
	shift
	"$@" </dev/null >out 2>err
	is "$*: exit 64, nothing on standard output" "$?:$(wc -c <out)" "64:0"
	is "$*: one line" "$(cat err)" "$want"
}
bad "scen-export: unknown option '--formt' (did you mean '--format'? see scen-export --help)" \
	scen-export --formt csv
bad "scen-export: ambiguous option '--t' (did you mean '--template' or '--tier'? see scen-export --help)" \
	scen-export --t x
bad "scen-export: unknown option '--=x' (see scen-export --help)" \
	scen-export --=x
bad "scen-export: option '--format' needs an argument: jsonl | csv (see scen-export --help)" \
	scen-export --format
bad "scen-export: --format 'xml': expected jsonl or csv (see scen-export --help)" \
	scen-export --format=xml
bad "scen-serve-stdin: option '--async' takes no argument (see scen-serve-stdin --help)" \
	scen-serve-stdin --async=yes
bad "scen-gen: unknown option '-x' (see scen-gen --help)" scen-gen -qx
bad "scen-gen: -n '0': expected 1 to 1000 (see scen-gen --help)" scen-gen -qn0
check "no database was created" test ! -e scen.db
done_testing
