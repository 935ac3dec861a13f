# scen-export: every serving with its full provenance, in the documented
# column order, agreeing with what scen-serve-stdin answered; the filters;
# --what scenarios; --what templates with each version's full text and its
# first and last use, so that every serving links to its version.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
BREAKER_FAILURES=1000 BAND_LO=0.1 BAND_HI=0.2 write_config
{
	req a1 sa1 female older warm 3
	req a2 sa2 male younger cold 7
} >in1a
# other-2026 declares no tone and no position
printf '%s\n' '{"id":"o1","session":"so1","experiment":"other-2026","template":"hiring","factors":{"gender":"female"}}' >in1b
scen-serve-stdin <in1a >out1 2>err1
scen-serve-stdin <in1b >>out1 2>>err1
# hits from new sessions until the variety controller forces fresh ones
for i in $(seq 1 24); do req "b$i" "sb$i" female older warm 3; done >in2
scen-serve-stdin <in2 >out2 2>err2
# the provider fails: a relaxed match for position 4
fake_ctl '{"mode":"503"}'
req c1 sc1 male younger cold 8 | scen-serve-stdin >out3 2>err3
fake_ctl '{"mode":"ok"}'
cat out1 out2 out3 >all.out
is "relaxed answer" "$(j 'r["tier"]' out3)" relaxed
check "the variety controller forced fresh answers" \
	test "$(sql 'select count(*) from servings where forced_fresh = 1')" -ge 1

scen-export >s.jsonl 2>s.err
is "export: exit 0" "$?" 0
is "export: one row per serving" "$(wc -l <s.jsonl | tr -d ' ')" \
	"$(sql 'select count(*) from servings')"
is "export: the documented columns, in order" "$(head -n 1 s.jsonl | j 'list(r)')" \
	'["serving", "request_id", "session", "experiment", "template", "version", "factors", "position", "tier", "similarity", "scenario_id", "scenario_factors", "scenario_position", "text", "model", "account", "origin", "batch_id", "generated_at", "served_at", "latency_ms", "forced_fresh"]'
python3 - s.jsonl all.out scen.db >agree.out <<'PY'
import json, sqlite3, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
answers = {r["id"]: r for r in map(json.loads, open(sys.argv[2]))}
db = sqlite3.connect(sys.argv[3])
versions = {v: (e, t) for v, e, t in
            db.execute("SELECT version, experiment, template FROM templates")}
problems = []
for r in rows:
    a = answers.get(r["request_id"])
    if a is None or a["status"] != "ok":
        problems.append("no ok answer for %s" % r["request_id"])
        continue
    for k in ("tier", "scenario_id", "text", "model", "experiment",
              "template"):
        if r[k] != a[k]:
            problems.append("%s: %s %r != %r" % (r["request_id"], k, r[k], a[k]))
    if abs(r["similarity"] - a["similarity"]) > 1e-4:
        problems.append("%s: similarity" % r["request_id"])
    if r["generated_at"][:19] != a["generated_at"][:19]:
        problems.append("%s: generated_at" % r["request_id"])
    if versions.get(r["version"]) != (r["experiment"], r["template"]):
        problems.append("%s: version not of its template" % r["request_id"])
    if r["account"] not in ("groq-a", "groq-b"):
        problems.append("%s: account %r" % (r["request_id"], r["account"]))
    if r["origin"] != "fresh":
        problems.append("%s: origin" % r["request_id"])
    if not (r["generated_at"] <= r["served_at"]):
        problems.append("%s: served before generated" % r["request_id"])
    if not (isinstance(r["latency_ms"], (int, float)) and r["latency_ms"] >= 0):
        problems.append("%s: latency" % r["request_id"])
    if not isinstance(r["forced_fresh"], bool):
        problems.append("%s: forced_fresh" % r["request_id"])
    if r["forced_fresh"] and r["tier"] != "fresh":
        problems.append("%s: forced but not fresh" % r["request_id"])
    if r["tier"] in ("cache", "fresh") and (
            r["factors"] != r["scenario_factors"] or
            r["position"] != r["scenario_position"]):
        problems.append("%s: an exact tier with other factors" % r["request_id"])
    if not r["served_at"].endswith("Z") or len(r["served_at"]) != 24:
        problems.append("%s: served_at %r" % (r["request_id"], r["served_at"]))
if len(answers) - 0 < len(rows):
    problems.append("more rows than answers")
print("\n".join(problems) if problems else "ok")
PY
is "export: every row agrees with its answer" "$(cat agree.out)" ok
is "export: request factors and position" \
	"$(grep '"request_id":"a2"' s.jsonl | j '[r["factors"], r["position"]]')" \
	'[{"age": "younger", "gender": "male", "tone": "cold"}, 7]'
is "export: a template without position" \
	"$(grep '"request_id":"o1"' s.jsonl | j '[r["factors"], r["position"], r["scenario_position"]]')" \
	'[{"gender": "female"}, null, null]'
is "export: the relaxed row names the scenario's own position" \
	"$(grep '"request_id":"c1"' s.jsonl | j '[r["position"], r["scenario_position"], r["similarity"]]')" \
	'[8, 7, 0.9444444444444444]'
is "export: forced_fresh rows" "$(j 'r["forced_fresh"]' s.jsonl | grep -c True)" \
	"$(sql 'select count(*) from servings where forced_fresh = 1')"
is "export: in serving order" "$(j 'r["serving"]' s.jsonl | tr '\n' ' ')" \
	"$(sql 'select id from servings order by served_at, id' | tr '\n' ' ')"

# filters
n() { scen-export "$@" | wc -l | tr -d ' '; }
is "--tier cache" "$(n --tier cache)" "$(sql "select count(*) from servings where tier = 'cache'")"
is "--tier relaxed: the row" "$(scen-export --tier relaxed | j 'r["request_id"]')" c1
is "--session" "$(scen-export --session sb3 | j 'r["request_id"]')" b3
is "--experiment" "$(scen-export --experiment other-2026 | j 'r["request_id"]')" o1
is "--template" "$(n --template hiring)" "$(sql 'select count(*) from servings')"
is "--experiment and --tier together" "$(n --experiment trust-2026 --tier fresh)" \
	"$(sql "select count(*) from servings where experiment = 'trust-2026' and tier = 'fresh'")"
is "--until long ago: nothing" "$(n --until 2000-01-01)" 0
is "--since 1h: everything" "$(n --since 1h)" "$(sql 'select count(*) from servings')"
mid=$(sql "select served_at from servings where request_id = 'b10'")
midiso=$(python3 -c "import datetime; print(datetime.datetime.utcfromtimestamp(int($mid)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
is "--since and --until split the rows" \
	"$(($(n --until "$midiso") + $(n --since "$midiso")))" "$(sql 'select count(*) from servings')"
is "--since is inclusive" "$(n --since "$midiso")" \
	"$(sql "select count(*) from servings where served_at >= $(python3 -c "print(int($mid))")")"

# scenarios
scen-export --what scenarios >sc.jsonl 2>sc.err
is "--what scenarios: exit 0" "$?" 0
is "--what scenarios: one row each" "$(wc -l <sc.jsonl | tr -d ' ')" "$(sql 'select count(*) from scenarios')"
is "--what scenarios: columns" "$(head -n 1 sc.jsonl | j 'list(r)')" \
	'["scenario_id", "experiment", "template", "version", "factors", "position", "text", "model", "account", "origin", "finish_reason", "prompt_tokens", "completion_tokens", "generated_at", "serves", "quarantined", "job", "batch_id", "custom_id"]'
is "--what scenarios: serves add up to the servings" \
	"$(python3 -c "import json, sys; print(sum(json.loads(l)['serves'] for l in open('sc.jsonl')))")" \
	"$(sql 'select count(*) from servings')"
check "--what scenarios: each names its job" \
	test "$(j 'r["job"].startswith("j-")' sc.jsonl | sort -u)" = True
is "--what scenarios --experiment" "$(scen-export --what scenarios --experiment other-2026 | wc -l | tr -d ' ')" 1

# a new prompt is a new template version; both are exported in full
PROMPT='A new prompt: a {age} {gender} candidate, {tone}, scene {position}.' \
	BREAKER_FAILURES=1000 write_config
req n1 sn1 female older warm 3 | scen-serve-stdin >out4 2>err4
is "the new version generates afresh" "$(j 'r["tier"]' out4)" fresh
scen-export --what templates >t.jsonl 2>t.err
is "--what templates: exit 0" "$?" 0
is "--what templates: columns" "$(head -n 1 t.jsonl | j 'list(r)')" \
	'["version", "experiment", "template", "system", "prompt", "model", "temperature", "max_tokens", "validate", "factors", "position", "registered_at", "scenarios", "first_generated", "last_generated", "servings", "first_used", "last_used"]'
is "--what templates: both versions of trust-2026/hiring" \
	"$(grep -c '"experiment":"trust-2026"' t.jsonl)" 2
check "--what templates: the full prompt text" \
	grep -qF '"prompt":"A new prompt: a {age} {gender} candidate, {tone}, scene {position}."' t.jsonl
check "--what templates: the old prompt too" \
	grep -qF '"prompt":"Write a 120-word scenario about a hiring decision for a {age} {gender} candidate, told in a {tone} tone. Scene {position} of 10."' t.jsonl
check "--what templates: the system prompt" \
	grep -qF '"system":"You write short, realistic workplace scenarios for a psychology study."' t.jsonl
is "--what templates: generation settings" \
	"$(grep '"prompt":"A new' t.jsonl | j '[r["model"], r["temperature"], r["max_tokens"], r["validate"]["min_chars"], r["validate"]["reject"]]')" \
	'["llama-3.1-8b-instant", 0.9, 600, 200, ["as an ai", "i can'"'"'t", "i cannot"]]'
is "--what templates: factor declarations" \
	"$(grep '"prompt":"A new' t.jsonl | j '[r["factors"]["tone"], r["position"]]')" \
	'[{"levels": ["neutral", "warm", "cold"], "weight": 1.0}, {"min": 1, "max": 10, "weight": 1.0}]'
scen-export >s2.jsonl
python3 - s2.jsonl t.jsonl >links.out <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tpl = {t["version"]: t for t in map(json.loads, open(sys.argv[2]))}
problems = []
for r in rows:
    t = tpl.get(r["version"])
    if not t:
        problems.append("serving %s: no version row" % r["serving"])
        continue
    if not (t["first_used"] <= r["served_at"] <= t["last_used"]):
        problems.append("serving %s outside its version's use" % r["serving"])
for v, t in tpl.items():
    n = sum(1 for r in rows if r["version"] == v)
    if n != t["servings"]:
        problems.append("version %s: servings %d != %d" % (v, t["servings"], n))
print("\n".join(problems) if problems else "ok")
PY
is "every serving links to its version, within first and last use" "$(cat links.out)" ok
is "--what templates --experiment" "$(scen-export --what templates --experiment other-2026 | j 'r["prompt"]')" \
	"Write about a {gender} candidate."
for k in "$SCEN_TEST_KEY_1" "$SCEN_TEST_KEY_2"; do
	check "no key in the exports" sh -c "! grep -qF -- '$k' s.jsonl s2.jsonl sc.jsonl t.jsonl"
done
done_testing
