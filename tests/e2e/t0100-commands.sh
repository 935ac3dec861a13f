# Every command: --help (matching its man page's options), --version, exit
# 64 on a bad option, and a man page that mandoc -T lint finds clean.
. "$(dirname "$0")/../lib/test-lib.sh"
for bin in "$SCEN_BUILD"/bin/*; do
	c=$(basename "$bin")
	bin=$(command -v "$c")	# under make check-valgrind, memcheck's wrapper
	"$bin" --help >out 2>err
	is "$c --help exits 0" "$?" 0
	check "$c --help starts with usage" grep -q "^usage: $c" out
	"$bin" --version >out 2>err
	is "$c --version exits 0" "$?" 0
	check "$c --version names scen" grep -qE "^$c \(scen\) [0-9]+\.[0-9]+" out
	"$bin" --no-such-option >out 2>err
	is "$c: a bad option exits 64" "$?" 64
	man=$SCEN_TOP/man/$c.1
	check "$c has a man page" test -f "$man"
	[ -f "$man" ] || continue
	if command -v mandoc >/dev/null; then
		is "$c.1 is mandoc -T lint clean" \
			"$(mandoc -T lint -W warning "$man" 2>&1)" ""
	fi
	# every long option in --help is documented in the man page, and
	# the other way round
	"$bin" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u >help.opts
	grep -oE '^\.It Fl [a-zA-Z]+( Ns|,| Fl -[a-z-]+)*|Fl -[a-z][a-z-]+' "$man" |
		grep -oE -- '-[a-z][a-z-]+' | sed 's/^-/--/' | sort -u >man.opts
	is "$c: --help and the man page list the same long options" \
		"$(comm -3 help.opts man.opts | tr -d '\t' | tr '\n' ' ')" ""
done
for m in "$SCEN_TOP"/man/*.[57]; do
	[ -f "$m" ] || continue
	command -v mandoc >/dev/null &&
		is "$(basename "$m") is mandoc -T lint clean" \
			"$(mandoc -T lint -W warning "$m" 2>&1)" ""
done
done_testing
