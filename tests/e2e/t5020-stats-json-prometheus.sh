# scen-cache-stats --json and --prometheus: the JSON parses and holds the
# documented fields; the Prometheus text parses (HELP and TYPE before each
# family, valid names, label syntax; escaping itself is unit-tested, as
# config names cannot hold quotes) and agrees with the JSON; promtool
# checks it where installed.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
for p in 1 2 3 4 5; do req "a$p" "sa$p" female older warm "$p"; done >in
for p in 1 2 3; do req "b$p" "sb$p" female older warm "$p"; done >>in
echo 'not json' >>in
scen-serve-stdin <in >out 2>err
is "served" "$(j 'r["status"]' out | sort | uniq -c | awk '{print $1, $2}' |
	tr '\n' ' ')" "1 error 8 ok "

scen-cache-stats --json >s.json 2>s.err
is "--json: exit 0" "$?" 0
is "--json: one line" "$(wc -l <s.json | tr -d ' ')" 1
python3 - s.json >fields.out <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def need(obj, path, keys):
    for k in keys:
        if k not in obj:
            print("missing %s.%s" % (path, k))
need(r, "", ["generated_at", "database", "status", "windows",
             "quota_day_start", "accounts", "provider", "queue", "pool",
             "batches", "totals", "alerts", "advice"])
for w in ("hour", "day", "week"):
    x = r["windows"][w]
    need(x, w, ["from", "to", "requests", "answered", "unavailable",
                "bad_input", "completed_rate", "hit_rate", "tiers",
                "tier_shares", "variety_forced", "calls_total", "calls",
                "call_error_rate", "invalid_output", "bad_input_by_code",
                "unavailable_by_template", "budget", "queue", "stored",
                "accounts"])
    need(x["tiers"], w + ".tiers", ["cache", "fresh", "pool", "relaxed"])
    need(x["queue"], w + ".queue", ["submitted", "done", "failed",
                                     "cancelled", "wait_s", "processing_s"])
    need(x["queue"]["wait_s"], w + ".wait_s", ["n", "p50", "p95", "max"])
    need(x["calls"], w + ".calls", ["ok", "invalid", "malformed", "429",
                                     "5xx", "timeout", "connect", "auth",
                                     "400"])
for a in r["accounts"]:
    need(a, "account", ["name", "limits", "calls", "tokens_minute",
                        "refused_429_today", "day_usage", "breaker",
                        "breaker_failures", "cooldown_until",
                        "set_aside_until", "provider_day_remaining",
                        "has_key", "key_refused", "batch_key_refused"])
need(r["queue"], "queue", ["depth", "queued", "running", "oldest_queued_s"])
need(r["pool"], "pool", ["available", "retired", "old_versions", "min",
                         "max_age_days", "served_7d", "runway_days",
                         "templates"])
need(r["batches"], "batches", ["open", "completed", "expired", "failed",
                               "lines", "lines_capped",
                               "oldest_open_age_s", "keys_refused"])
need(r["batches"]["lines"], "batches.lines", ["pending", "done", "failed"])
need(r["totals"], "totals", ["scenarios", "servings", "template_versions"])
for a in r["alerts"]:
    need(a, "alert", ["name", "level", "subject", "figure", "threshold",
                      "message"])
print("ok")
PY
is "--json: every documented field" "$(cat fields.out)" ok
is "--json: status" "$(j 'r["status"]' s.json)" WARNING
is "--json: the pool alert with figure and threshold" \
	"$(j '[(a["name"], a["level"], a["figure"], a["threshold"]) for a in r["alerts"]]' s.json)" \
	'[["pool", "WARNING", 0, 100]]'
is "--json: account names as configured" "$(j '[a["name"] for a in r["accounts"]]' s.json)" \
	'["groq-a", "groq-b"]'
scen-cache-stats --json --since 2h >since.json
is "--since adds a window" "$(j 'sorted(r["windows"])' since.json)" \
	'["day", "hour", "since", "week"]'
is "--since window figures" "$(j 'r["windows"]["since"]["answered"]' since.json)" 8

scen-cache-stats --prometheus >m.prom 2>m.err
is "--prometheus: exit 0" "$?" 0
python3 - m.prom s.json >prom.out <<'PY'
import json, math, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
js = json.load(open(sys.argv[2]))
name_re = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
help_, type_, seen_fam, series, samples = {}, {}, [], set(), {}
errors = []
def labels(s):
    out, i = {}, 0
    while i < len(s):
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m:
            raise ValueError("bad label at %r" % s[i:])
        i += m.end()
        v = ""
        while s[i] != '"':
            if s[i] == "\\":
                c = s[i + 1]
                if c not in '\\"n':
                    raise ValueError("bad escape \\%s" % c)
                v += {"\\": "\\", '"': '"', "n": "\n"}[c]
                i += 2
            else:
                v += s[i]
                i += 1
        out[m.group(1)] = v
        i += 1
        if i < len(s):
            if s[i] != ",":
                raise ValueError("expected , at %r" % s[i:])
            i += 1
    return out
if not text.endswith("\n"):
    errors.append("no final newline")
for ln, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        n = line.split(" ", 3)[2]
        if n in help_:
            errors.append("%d: second HELP for %s" % (ln, n))
        help_[n] = line
        continue
    if line.startswith("# TYPE "):
        _, _, n, t = line.split(" ")
        if t not in ("gauge", "counter"):
            errors.append("%d: type %s" % (ln, t))
        if n in type_:
            errors.append("%d: second TYPE for %s" % (ln, n))
        if t == "counter" and not n.endswith("_total"):
            errors.append("%d: counter %s without _total" % (ln, n))
        type_[n] = t
        continue
    if line.startswith("#") or not line:
        errors.append("%d: unexpected line %r" % (ln, line))
        continue
    m = re.match(r"([^{ ]+)(?:\{(.*)\})? (\S+)$", line)
    if not m:
        errors.append("%d: not a sample: %r" % (ln, line))
        continue
    n, lab, val = m.groups()
    if not name_re.match(n) or not n.startswith("scen_"):
        errors.append("%d: bad name %s" % (ln, n))
    if n not in type_ or n not in help_:
        errors.append("%d: %s without HELP and TYPE before it" % (ln, n))
    if seen_fam and seen_fam[-1] != n and n in seen_fam:
        errors.append("%d: %s not contiguous" % (ln, n))
    if not seen_fam or seen_fam[-1] != n:
        seen_fam.append(n)
    try:
        lv = labels(lab or "")
    except (ValueError, IndexError) as e:
        errors.append("%d: %s" % (ln, e))
        continue
    key = (n, tuple(sorted(lv.items())))
    if key in series:
        errors.append("%d: duplicate series %r" % (ln, key))
    series.add(key)
    try:
        samples[key] = float(val)
    except ValueError:
        errors.append("%d: bad value %r" % (ln, val))
def get(n, **lv):
    return samples.get((n, tuple(sorted(lv.items()))))
for w in ("hour", "day", "week"):
    for t in ("cache", "fresh", "pool", "relaxed"):
        if get("scen_answers", window=w, tier=t) != js["windows"][w]["tiers"][t]:
            errors.append("scen_answers %s %s disagrees" % (w, t))
    if abs(get("scen_hit_rate", window=w) - js["windows"][w]["hit_rate"]) > 1e-5:
        errors.append("hit rate %s disagrees" % w)
    if get("scen_bad_input", window=w, code="invalid_json") != 1:
        errors.append("bad input %s" % w)
for a in js["accounts"]:
    if get("scen_account_calls", account=a["name"], period="day") != a["calls"]["day"]:
        errors.append("account %r calls disagree" % a["name"])
if get("scen_pool_available", experiment="other-2026", template="hiring") != 0:
    errors.append("the pool of other-2026/hiring")
if get("scen_alert", name="pool", subject="") != 1:
    errors.append("scen_alert pool")
if get("scen_servings_total") != js["totals"]["servings"]:
    errors.append("servings total")
for st in ("open", "completed", "expired", "failed"):
    if get("scen_batches", state=st) != js["batches"][st]:
        errors.append("scen_batches %s disagrees" % st)
# no pool servings: the runway is unbounded (JSON null, Prometheus +Inf)
if js["pool"]["runway_days"] is not None or get("scen_pool_runway_days") != math.inf:
    errors.append("the runway without pool servings")
print("\n".join(errors) if errors else "ok")
PY
is "--prometheus: parses, and agrees with --json" "$(cat prom.out)" ok
if command -v promtool >/dev/null; then
	promtool check metrics <m.prom >promtool.out 2>&1
	is "promtool check metrics: clean" "$?:$(cat promtool.out)" "0:"
else
	ok "promtool check metrics # SKIP promtool is not installed"
fi
# --help's usage is the man page's SYNOPSIS
if command -v mandoc >/dev/null; then
	help=$(scen-cache-stats --help | sed -n '/^usage:/,/^$/p' | sed 's/^usage: //' |
		tr -s ' \t\n' ' ' | sed 's/ *$//')
	syn=$(mandoc -T ascii "$SCEN_TOP/man/scen-cache-stats.1" | sed 's/.\x08//g' |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
		tr -s ' \t\n' ' ' | sed 's/^ *//;s/ *$//')
	is "--help's usage is the SYNOPSIS of scen-cache-stats(1)" "$help" "$syn"
else
	ok "--help's usage is the SYNOPSIS # SKIP mandoc is not installed"
fi
done_testing
