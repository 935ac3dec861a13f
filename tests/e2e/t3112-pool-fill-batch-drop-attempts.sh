# a line's attempt count survives being planned again, until
# pool.batch_attempts (scen-pool-fill(1), BATCHES, "Lines that made
# nothing"). But when the batch holding the retry is dropped unsent (its
# upload refused: the key's plan lost batches), the retry is superseded
# and the old line is already marked retried: the entry is planned anew
# at attempt 1, its failures forgotten, the cap evaded.
. "$(dirname "$0")/../lib/test-lib.sh"

batch_config() { SCENES=1 VARIANTS=1 MIN_CHARS=50 ATTEMPTS=2 write_batch_config batch; }
fill() { scen-pool-fill --experiment batch-2026 "$@"; }

fake_start
batch_config
fake_ctl '{"batch": {"fail": "validation failed"}}'
fill >out1 2>err1	# 50 lines on groq-a, the batch fails validation
fake_ctl '{"batch": {"fail": null}}'
fill --collect >out2 2>err2	# collected: its lines failed, nothing sent
# groq-a's key is known to take batches: no listing first; its upload is
# now refused (403), the batch dropped; groq-b takes the entries
fake_ctl '{"batch": {"refuse_keys": ["0"]}}'
fill >out3 2>err3
is "run 3: exit 0" "$?" 0
is "the failed batch's 50 lines, failed at attempt 1" \
	"$(sql "select count(*), max(attempt) from batch_lines where batch = 1 and state = 'failed'")" "50|1"
is "the entries went out again on groq-b, at their second attempt" \
	"$(sql "select b.account, count(*), min(l.attempt) from batches b join batch_lines l on l.batch = b.id where b.state = 'submitted' group by b.account")" "groq-b|50|2"
done_testing
