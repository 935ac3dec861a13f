# scen-serve-stdin: 10,000 bad lines of every kind (NUL bytes, invalid
# UTF-8, a 2 MB line, wrong types, unknown names) each get exactly one
# error answer with a stable code; the stream goes on, exit 0, and nothing
# stored changes.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config

req seed p0 | scen-serve-stdin >seed.out 2>&1
is "a scenario is stored first" "$(sql 'select count(*) from scenarios')" 1
before=$(sql 'select id, sid, text, serves from scenarios' | md5sum)

python3 - <<'PY'
import json, random
random.seed(7)
good = {"session": "p1", "experiment": "trust-2026", "template": "hiring",
        "factors": {"gender": "female", "age": "older", "tone": "warm"},
        "position": 3}
def variant(i):
    r = json.loads(json.dumps(good))
    r["id"] = "b%d" % i
    k = i % 24
    if k == 0: return b'{"id": "b%d", ' % i              # truncated JSON
    if k == 1: return b"not json at all"
    if k == 2: return b'["an", "array"]'
    if k == 3: return b'{"id":"b%d","session":"p\x00x"}' % i   # NUL byte
    if k == 4: return b'\x00\x00\x00'
    if k == 5: return b'{"id":"b%d","session":"\xff\xfe"}' % i  # bad UTF-8
    if k == 6: r["session"] = 42
    if k == 7: r["template"] = "hirng"
    if k == 8: r["experiment"] = "nope"
    if k == 9: r["factors"]["gender"] = "other"
    if k == 10: r["factors"]["colour"] = "red"
    if k == 11: del r["factors"]["age"]
    if k == 12: del r["session"]
    if k == 13: del r["template"]
    if k == 14: r["position"] = 11
    if k == 15: r["position"] = "3"
    if k == 16: r["factors"] = ["female"]
    if k == 17: r["op"] = "explode"
    if k == 18: r["positon"] = 3
    if k == 19: r["factors"]["tone"] = {"nested": 1}
    if k == 20: return b'{"id":"b%d","id":"dup"}' % i
    if k == 21: r["id"] = {"x": 1}
    if k == 22: r["op"] = "status"
    if k == 23: return (json.dumps(r)[:-1] + ',"session":"again"}').encode()
    return json.dumps(r).encode()
with open("bad.jsonl", "wb") as f:
    for i in range(1, 10000):
        f.write(variant(i) + b"\n")
        if i == 5000:
            f.write(b'{"id":"huge","x":"' + b"a" * (2 * 1024 * 1024) + b'"}\n')
PY
is "10,000 input lines" "$(wc -l <bad.jsonl)" 10000
scen-serve-stdin <bad.jsonl >out 2>err
is "exit status 0" "$?" 0
is "one answer per line" "$(wc -l <out)" 10000
is "every answer is an error" "$(j 'r["status"]' out | sort | uniq -c | awk '{print $1, $2}')" "10000 error"
check "every answer is valid UTF-8 JSON" python3 -c '
import json, sys
for line in open("out", "rb"):
    json.loads(line.decode("utf-8"))'
is "no id answered twice" "$(j 'r["id"]' out | grep -v '^None$' | sort | uniq -d | wc -l)" 0
is "an id that could not be read: null, with its line number" \
	"$(j 'r["id"] is None and isinstance(r.get("line"), int)' out | grep -c True)" \
	"$(j 'r["id"] is None' out | grep -c True)"
is "the 2 MB line: line_too_long" "$(j 'r["error"]' out | grep -c line_too_long)" 1
is "codes are the stable words" "$(j 'r["error"]' out | sort -u | tr '\n' ' ')" \
	"bad_level bad_position invalid_json invalid_request line_too_long missing_field unknown_experiment unknown_factor unknown_template "
check "a message says what is wrong" grep -q "template 'hirng' is not declared in experiment 'trust-2026' (did you mean 'hiring'?)" out
check "unknown level names the factor" grep -q "'other' is not a level of factor 'gender'" out
is "stored scenarios unchanged" "$(sql 'select id, sid, text, serves from scenarios' | md5sum)" "$before"
is "no servings added" "$(sql 'select count(*) from servings')" 1
is "no provider call" "$(fake_stat 'r["calls"]')" 1
check "nothing on stderr at the default verbosity" test ! -s err
# the stream goes on after bad lines
{ printf 'garbage\n'; req after p9 male younger cold 7; printf '\0\0\n'; } |
	scen-serve-stdin >out2 2>&1
is "a good line between bad ones is answered" "$(j 'r["status"]' out2 | sort | tr '\n' ' ')" "error error ok "
done_testing
