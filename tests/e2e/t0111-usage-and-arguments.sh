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
			"$c: unexpected argument 'foo'"
		is "$c $args: nothing on standard output" "$(wc -c <out)" 0
	done
done
is "all five commands" "$n" 5
check "no database was created" test ! -e scen.db
done_testing
