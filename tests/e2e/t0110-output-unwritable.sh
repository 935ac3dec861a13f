# Standard output that cannot be written (/dev/full): every command says so
# in exactly one line, naming the cause, and exits 74 (--check: 3, UNKNOWN).
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
req a s1 | scen-serve-stdin >/dev/null 2>&1
# full CMD ARGS...: runs the command into /dev/full, stdin from in.jsonl
full() {
	"$@" <in.jsonl >/dev/full 2>err
	rc=$?
	msg=$(grep -c 'No space left on device' err)
}
# one WANT_RC CMD ARGS...: the whole of standard error is one line
one() {
	want=$1
	shift
	full "$@"
	is "$* >/dev/full: exit $want" "$rc" "$want"
	is "$* >/dev/full: one line of error" "$(wc -l <err)" 1
	is "$* >/dev/full: it names the cause" "$msg" 1
}
: >in.jsonl
for c in scen-serve-stdin scen-gen scen-pool-fill scen-cache-stats \
	scen-export scen-db-copy; do
	one 74 "$c" --help
	one 74 "$c" --version
done
one 74 scen-export
one 74 scen-export --format csv
one 74 scen-cache-stats
one 74 scen-cache-stats --json
one 74 scen-cache-stats --prometheus
one 74 scen-cache-stats --html -
one 3 scen-cache-stats --check
one 74 scen-cache-stats --verify
one 3 scen-cache-stats --verify --check
one 74 scen-pool-fill --dry-run
one 74 scen-db-copy --to copy.db
# the serving commands too: the answers they could not write are told in
# the same one line
req b s2 >in.jsonl
one 74 scen-serve-stdin
one 74 scen-gen --template hiring --experiment trust-2026 --factor \
	gender=male --factor age=older --factor tone=warm --position 2

# scen-gen's flags make a request of any length (it once hung on one
# longer than a pipe holds)
long=$(head -c 70000 /dev/zero | tr '\0' a)
timeout 20 scen-gen --template hiring --experiment trust-2026 --factor \
	"gender=$long" --factor age=older --factor tone=warm --position 2 \
	>out 2>err
is "scen-gen, a 70,000-byte factor: answered, not hung" \
	"$?:$(j 'r["error"]' out)" "65:bad_level"
done_testing
