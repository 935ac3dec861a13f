# The API keys' values appear nowhere: not in the database files, standard
# output, standard error (even verbose), exports or the provider's log,
# including when the provider refuses a key.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
{
	req a1 p1
	req a2 p2
	req a3 p1 male younger cold 9
	echo 'not json'
} | scen-serve-stdin -v -v >out 2>err
is "served" "$(j 'r["status"]' out | sort | tr '\n' ' ')" "error ok ok ok "
# a wrong key for one account: refused, reported, never printed
export SCEN_TEST_KEY_2="wrong-key-$$-secret"
fake_ctl '{"mode":"ok"}'
{ for i in 1 2 3 4; do req "w$i" "pw$i" female younger neutral "$i"; done; } |
	scen-serve-stdin -v -v >>out 2>>err
check "the refused key is reported by account name" grep -q "account groq-b: the provider refused its key" err
scen-gen -v --template hiring --factor gender=male --factor age=older \
	--factor tone=warm --position 2 >>out 2>>err
for k in "$SCEN_TEST_KEY_1" "$SCEN_TEST_KEY_2" "$SCEN_TEST_KEY_3"; do
	for f in scen.db scen.db-wal out err "$T/fake.log"; do
		[ -e "$f" ] || continue
		check "key not in $(basename "$f")" sh -c "! grep -qaF -- '$k' '$f'"
	done
done
check "the database has content to search" test "$(sql 'select count(*) from scenarios')" -ge 3
check "the key is in no table (SQL dump)" sh -c "python3 -c '
import sqlite3; c = sqlite3.connect(\"scen.db\")
print(\"\\n\".join(c.iterdump()))' | grep -qF -- '$SCEN_TEST_KEY_1' && exit 1 || exit 0"
done_testing
