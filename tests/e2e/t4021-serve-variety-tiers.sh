# Under variety pressure (sessions asking one combination again and
# again, few calls a minute), an answer that matches exactly is labelled
# cache, or pool for an unserved pool entry, whatever tier found it:
# relaxed is only for answers below cache.strict (scen(7), TIERS). The
# tier printed is the one recorded, counted and exported.
. "$(dirname "$0")/../lib/test-lib.sh"
export SCEN_CLOCK_SCALE=30 SCEN_CLOCK_EPOCH=$(date +%s)
fake_start
# fresh first, then relaxed: every hit is found by the relaxed tier
TIMEOUT_S=30 RPM=4 DEADLINE_S=20 BAND_LO=0.60 BAND_HI=0.70 \
	FALLBACK="fresh, relaxed" write_config
scen-gen --pool --experiment trust-2026 --template hiring --factor gender=female \
	--factor age=older --factor tone=warm --position 3 >gen.out 2>err
python3 - >in <<'PY'
import json
for i in range(200):
    print(json.dumps({"id": "p%d" % i, "session": "ps%d" % (i % 10),
        "experiment": "trust-2026", "template": "hiring",
        "factors": {"gender": "female", "age": "older", "tone": "warm"},
        "position": 3}))
PY
# the lines come in over about two seconds (a virtual minute)
python3 -c '
import sys, time
for l in open("in"):
    sys.stdout.write(l); sys.stdout.flush()
    time.sleep(0.01)
' | scen-serve-stdin >out 2>err
is "every request answered" "$(wc -l <out)" 200
tiers=$(j 'r.get("tier", r["status"])' out | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')
echo "# tiers: $tiers"
is "no relaxed answer at similarity >= strict (0.95)" \
	"$(j 'r.get("tier") == "relaxed" and r["similarity"] >= 0.95' out | sort -u)" False
cmp_num "hits are labelled cache" "$(j 'r.get("tier")' out | grep -c '^cache$')" -gt 30
is "the unserved pool entry is labelled pool" \
	"$(j 'r.get("tier") == "pool" and r["scenario_id"]' out | grep -v False)" \
	"$(j 'r["scenario_id"]' gen.out)"
is "the servings table agrees" \
	"$(sql "select count(*) from servings where tier = 'relaxed' and similarity >= 0.95")" 0
is "answers and servings agree" \
	"$(j 'r["id"] + " " + r.get("tier", "-")' out | grep -v ' -$' | sort | tr '\n' ' ')" \
	"$(sql "select request_id || ' ' || tier from servings" | sort | tr '\n' ' ')"
scen-export >export.jsonl 2>err
is "scen-export agrees" \
	"$(j 'r["tier"] == "relaxed" and r["similarity"] >= 0.95' export.jsonl | sort -u)" False
is "the tier counters agree" \
	"$(sql "select coalesce(sum(n), 0) from counters where name = 'tier.relaxed'")" 0
done_testing
