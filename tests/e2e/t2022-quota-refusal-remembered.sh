# A refused key is remembered between runs, by a fingerprint of the key
# (never the key): later processes make no call on it; a replaced key is
# tried again. A database of schema version 2 migrates and keeps its rows.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
python3 -c '
import sqlite3, sys
c = sqlite3.connect("scen.db")
c.executescript(open(sys.argv[1]).read())
' "$SCEN_TEST_DATA/schema-v2.sql"
is "a version 2 database" "$(sql 'pragma user_version')" 2

# -- a wrong key for groq-b: one 401, in the first process only
good=$SCEN_TEST_KEY_2
export SCEN_TEST_KEY_2="wrong-key-$$-secret"
design 12 a | scen-serve-stdin >out 2>err
is "migrated: stored scenarios served from the cache" "$(j 'r["status"] + " " + r["tier"]' out | sort | uniq -c | awk '{print $1, $2, $3}')" "3 ok cache
9 ok fresh"
check "migrated: to a newer schema version" test "$(sql 'pragma user_version')" -gt 2
is "migrated: the ledger kept" "$(sql "select count(*) from calls where status = 503")" 1
is "one 401" "$(fake_stat 'r["status"].get("401", 0)')" 1
is "the refusal is stored" "$(sql "select key_verdict from accounts where name = 'groq-b'")" refused
is "as a fingerprint (16 hex digits)" "$(sql "select length(key_fp) = 16 and key_fp not glob '*[^0-9a-f]*' from accounts where name = 'groq-b'")" 1
scen-gen --experiment trust-2026 --template hiring --factor gender=male \
	--factor age=older --factor tone=warm --position 1 >gen.out 2>gen.err
design 30 b | tail -8 | scen-serve-stdin >out 2>err
is "later processes: no call on the refused key" "$(fake_stat 'r["status"].get("401", 0)')" 1
is "later processes: still served" "$(cat gen.out out | j 'r["status"]' | sort | uniq -c | awk '{print $1, $2}')" "9 ok"
check "later processes: say why the account is not used" grep -q "account groq-b: the provider refused this key before" gen.err
for f in scen.db scen.db-wal out err gen.out gen.err; do
	[ -e "$f" ] || continue
	check "the key is not in $f" sh -c "! grep -qaF -- '$SCEN_TEST_KEY_2' '$f'"
done
# -- scen-cache-stats shows the account as refused, in every format
scen-cache-stats >stats.txt
check "stats: the account's state says refused" grep -q "groq-b .*key refused by the provider at" stats.txt
is "stats --json: key_refused" "$(scen-cache-stats --json | python3 -c 'import json,sys; print(*[a["name"]+"="+str(a["key_refused"]) for a in json.load(sys.stdin)["accounts"]])')" "groq-a=False groq-b=True"
check "stats --prometheus: the gauge" sh -c 'scen-cache-stats --prometheus | grep -qx "scen_account_key_refused{account=\"groq-b\"} 1"'
scen-cache-stats --html stats.html
check "stats --html: the state" grep -q "key refused by the provider" stats.html
scen-cache-stats --check >check.out; rc=$?
is "stats --check: a warning naming the account" "$rc $(grep -c 'WARNING key_refused: the provider refused the key of account groq-b' check.out)" "1 1"

# -- the key replaced: tried again, and taken
export SCEN_TEST_KEY_2=$good
before=$(fake_stat 'r["by_key"].get("1", 0)')
design 30 r | tail -12 | scen-serve-stdin >out 2>err
cmp_num "a replaced key is used again" "$(fake_stat 'r["by_key"].get("1", 0)')" -gt "$before"
is "and its verdict is now accepted" "$(sql "select key_verdict from accounts where name = 'groq-b'")" accepted
check "stats: no longer shown as refused" sh -c '! scen-cache-stats | grep -q "key refused"'
done_testing
