# Every broken config of tests/data/config-bad makes each command that reads
# a config exit 78 with a message naming FILE:LINE:COLUMN, and changes
# nothing stored.
. "$(dirname "$0")/../lib/test-lib.sh"
data=$SCEN_TOP/tests/data/config-bad
n=0
for f in "$data"/*.yaml; do
	n=$((n + 1))
	name=$(basename "$f")
	want=$(cat "${f%.yaml}.expect")
	cp "$f" "$T/$name"
	echo '{"id":"x","session":"s","template":"hiring","factors":{}}' |
		scen-serve-stdin -c "$T/$name" >out 2>err
	rc=$?
	is "$name: exit 78" "$rc" 78
	check "$name: message names $name:$want" grep -q "$name:$want: " err
	is "$name: nothing answered" "$(wc -c <out)" 0
done
cmp_num "at least 15 broken configs" "$n" -ge 15
check "no database was created" test ! -e "$T/scen.db"
# the key's variable missing entirely
write_config
unset SCEN_TEST_KEY_1 SCEN_TEST_KEY_2
scen-serve-stdin </dev/null >out 2>err
is "no key at all: exit 78" "$?" 78
check "no key at all: names the variable" grep -q "SCEN_TEST_KEY_1" err
export SCEN_TEST_KEY_2=k2
scen-serve-stdin </dev/null >out 2>err
is "one key missing: runs" "$?" 0
check "one key missing: warns, naming it" grep -q "warning: .*SCEN_TEST_KEY_1" err
# -c, $SCEN_CONFIG, ./scen.yaml
mkdir -p d && cp "$T/scen.yaml" d/scen.yaml
(cd d && env -u SCEN_CONFIG scen-serve-stdin </dev/null) 2>err
is "./scen.yaml is the default" "$?" 0
(cd d && env -u SCEN_CONFIG scen-serve-stdin -c nonexistent.yaml </dev/null) 2>err
is "-c names another file" "$?" 78
check "an unreadable config is named" grep -q "nonexistent.yaml" err
done_testing
