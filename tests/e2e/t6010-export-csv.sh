# scen-export --format csv: RFC 4180 (a header row, CRLF line ends,
# fields with commas, quotes, CR or LF quoted, quotes doubled), read back
# by Python's csv module equal to the JSONL export field for field, for
# servings, scenarios and templates, with texts that hold commas, quotes,
# newlines, carriage returns and non-ASCII letters.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
# the fake provider echoes the prompt: these characters reach the texts
PROMPT='Write, in \"plain\" words, about a {age} {gender} candidate;\nthe tone: {tone}, scene {position} — “curly” quotes, a \\\\ too.' \
	write_config
for p in 1 2 3; do req "a$p" "sa$p" female older warm "$p"; done >in
for p in 1 2; do req "b$p" "sb$p" female older warm "$p"; done >>in
scen-serve-stdin <in >out 2>err
is "served" "$(j 'r["status"]' out | sort -u)" ok
check "the texts hold a comma, a quote and a newline" \
	test "$(j '"," in r["text"] and "\"" in r["text"] and "\n" in r["text"]' out | sort -u)" = True
# and one scenario with CR, CRLF, a lone quote, tabs and edge spaces,
# stored as it came (scen stores LLM output unmodified)
python3 - scen.db <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE scenarios SET text = ?, account = ? WHERE id = 1",
          (' leading space,\r\nCRLF line\rCR alone "quoted" and " lone\t'
           'tab, ünïcödé ✓ trailing ', "groq-a"))
c.commit()
PY

for what in servings scenarios templates; do
	scen-export --what $what >$what.jsonl 2>$what.err
	scen-export --what $what --format csv >$what.csv 2>>$what.err
	is "$what: both exports exit 0" "$?:$(cat $what.err)" "0:"
	python3 - $what.jsonl $what.csv >$what.cmp <<'PY'
import csv, json, sys
rows = [json.loads(l, object_pairs_hook=lambda p: dict(p)) for l in
        open(sys.argv[1], encoding="utf-8")]
raw = open(sys.argv[2], "rb").read()
problems = []
# every record ends with CRLF; no bare LF outside quoted fields
if not raw.endswith(b"\r\n"):
    problems.append("does not end with CRLF")
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    table = list(csv.reader(f, strict=True))
header, body = table[0], table[1:]
if rows and header != list(rows[0]):
    problems.append("header %r is not the JSONL column order" % header)
if len(body) != len(rows):
    problems.append("%d CSV rows, %d JSONL rows" % (len(body), len(rows)))
def same(j, c):
    if j is None:
        return c == ""
    if isinstance(j, bool):
        return c == ("true" if j else "false")
    if isinstance(j, (dict, list)):
        return json.loads(c) == j
    if isinstance(j, (int, float)):
        return float(c) == j
    return c == j
for i, (r, c) in enumerate(zip(rows, body)):
    if len(c) != len(header):
        problems.append("row %d: %d fields" % (i, len(c)))
        continue
    for k, v in zip(header, c):
        if not same(r[k], v):
            problems.append("row %d %s: JSONL %r, CSV %r" % (i, k, r[k], v))
# the quoting rule: a field is quoted exactly when it must be
text = raw.decode("utf-8")
if '""' not in text and any('"' in str(v) for r in rows for v in r.values()):
    problems.append("quotes not doubled")
print("\n".join(problems[:10]) if problems else "ok")
PY
	is "$what: CSV equals JSONL, field for field" "$(cat $what.cmp)" ok
done
check "servings: the stored CR, CRLF and lone quote come back" \
	test "$(python3 -c "
import csv
rows = list(csv.DictReader(open('servings.csv', newline='', encoding='utf-8')))
t = [r['text'] for r in rows if r['scenario_id'] == rows[0]['scenario_id'] or '\r' in r['text']]
print(any(x.startswith(' leading space,\r\nCRLF line\rCR alone \"quoted\" and \" lone\ttab') for x in t))")" = True
check "the header row" \
	sh -c "head -c 30 servings.csv | grep -q '^serving,request_id,session,'"
is "header ends with CRLF" "$(head -n 1 servings.csv | od -An -c | tr -d ' \n' | tail -c 4)" '\r\n'
check "a text with a quote is quoted, its quotes doubled" grep -q '"Scenario #[0-9]*\. Write, in ""plain"" words' servings.csv
check "a factors object is one quoted field" grep -qF '"{""age"":""older"",""gender"":""female"",""tone"":""warm""}"' servings.csv
check "simple fields are not quoted" grep -q ',trust-2026,hiring,' servings.csv
check "templates: the prompt's newline is kept in its quoted field" \
	python3 -c "
import csv, sys
rows = list(csv.DictReader(open('templates.csv', newline='', encoding='utf-8')))
sys.exit(0 if any('candidate;\nthe tone' in r['prompt'] for r in rows) else 1)"

# no rows: a CSV still has its header, JSONL nothing
scen-export --format csv --session nobody >empty.csv
is "no rows: the CSV header alone" "$(wc -l <empty.csv | tr -d ' '):$(head -c 7 empty.csv)" "1:serving"
is "no rows: empty JSONL" "$(scen-export --session nobody | wc -c | tr -d ' ')" 0
done_testing
