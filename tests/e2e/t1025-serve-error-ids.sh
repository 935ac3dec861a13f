# An error answer to a line whose id could not be read has "id": null and
# "line": N, so that it cannot be taken for the answer to a request whose
# id is that number (scen-serve-stdin(1), STANDARDS). A line with a
# readable id is answered under it; a good line without one, under its
# line number.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
{
	printf 'not json\n'						# line 1
	printf '{"id":1,"session":"e1","experiment":"trust-2026","template":"hiring","factors":{"gender":"female","age":"older","tone":"warm"},"position":3}\n'
	printf '{"session":"e2","template":"hirng"}\n'			# line 3
	printf '{"id":"e4","session":"e4","template":"hirng"}\n'	# line 4
	printf '{"id":1.5,"session":"e5"}\n'				# line 5
	printf '{"session":"e6","experiment":"trust-2026","template":"hiring","factors":{"gender":"male","age":"older","tone":"warm"},"position":3}\n'
	python3 -c 'print("{\"id\":\"big\",\"x\":\"" + "a" * (1024 * 1024 + 10) + "\"}")'	# line 7
} >in
scen-serve-stdin --ordered <in >out 2>err
is "exit 0" "$?" 0
is "answers: id, line, status" \
	"$(j 'json.dumps([r["id"], r.get("line"), r["status"]])' out | tr '\n' ' ')" \
	'[null, 1, "error"] ["1", null, "ok"] [null, 3, "error"] ["e4", null, "error"] [null, 5, "error"] ["6", null, "ok"] [null, 7, "error"] '
is "no two answers share an id" "$(j 'r["id"]' out | grep -v '^None$' | sort | uniq -d)" ""
done_testing
