# scen-export: 64 for bad options and filters that do not apply, 74 for a
# database that cannot be read or output that cannot be written, 78 for a
# bad config; an empty database exports nothing; a reader that stops early
# (head) does not make an error out of it.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
for p in 1 2 3 4 5 6; do req "a$p" "sa$p" female older warm "$p"; done |
	scen-serve-stdin >out 2>err
usage() {
	scen-export "$@" >u.out 2>u.err
	is "usage error: $*" "$?:$(head -c 1 u.out | wc -c | tr -d ' ')" "64:0"
	check "usage error: $*: says why" grep -q "^scen-export: " u.err
}
usage --format xml
usage --what sessions
usage --tier warm
usage --since yesterday
usage --until 2026-13-01
usage extra-argument
usage --what templates --tier cache
usage --what templates --since 1d
usage --what scenarios --session sa1
usage --no-such-option
scen-export --db "$T/none.db" >/dev/null 2>e1
is "missing database: 74" "$?" 74
echo "plain text, not SQLite" >text.db
scen-export --db text.db >/dev/null 2>e2
is "not a database: 74" "$?" 74
check "not a database: names the file" grep -q "text.db" e2
echo "database: [" >bad.yaml
scen-export -c bad.yaml >/dev/null 2>e3
is "bad config: 78" "$?" 78
scen-export >/dev/full 2>e4
is "output unwritable: 74" "$?" 74
check "output unwritable: says so" grep -q "cannot write" e4
scen-export --format csv >/dev/full 2>/dev/null
is "CSV output unwritable: 74" "$?" 74
# a reader that stops after one line
out=$(scen-export | head -n 1 | j 'r["serving"]')
is "a reader that stops early gets its line" "$out" 1
# a database with no servings yet
BREAKER_FAILURES=1000 write_config "$T/empty.yaml"
sed -i 's|^database: .*|database: empty.db|' "$T/empty.yaml"
SCEN_CONFIG=$T/empty.yaml scen-serve-stdin </dev/null >/dev/null 2>&1
SCEN_CONFIG=$T/empty.yaml scen-export >e.jsonl 2>e.err
is "empty database: exit 0, no rows" "$?:$(wc -c <e.jsonl | tr -d ' ')" "0:0"
SCEN_CONFIG=$T/empty.yaml scen-export --what templates >et.jsonl 2>e.err
is "empty database: the registered template versions" "$(wc -l <et.jsonl | tr -d ' ')" 2
is "empty database: never used" "$(j 'r["first_used"], r["servings"]' et.jsonl | sort -u)" "(None, 0)"
# --help's usage is the man page's SYNOPSIS
if command -v mandoc >/dev/null; then
	help=$(scen-export --help | sed -n '/^usage:/,/^$/p' | sed 's/^usage: //' |
		tr -s ' \t\n' ' ' | sed 's/ *$//')
	syn=$(mandoc -T ascii "$SCEN_TOP/man/scen-export.1" | sed 's/.\x08//g' |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
		tr -s ' \t\n' ' ' | sed 's/^ *//;s/ *$//')
	is "--help's usage is the SYNOPSIS of scen-export(1)" "$help" "$syn"
else
	ok "--help's usage is the SYNOPSIS # SKIP mandoc is not installed"
fi
done_testing
