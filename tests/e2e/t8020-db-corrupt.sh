# A corrupted or non-SQLite database: every command exits 74 with an error
# naming the file, never crashes; damaged pages are caught at a
# read-write open (quick_check); a damaged text (its checksum), or a row
# that no longer matches its key, is never served; random garbage written
# into a real database never makes scen-serve-stdin crash or serve a wrong
# text.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
FALLBACK="cache, relaxed" write_config stored.yaml
FALLBACK="cache, fresh, relaxed" write_config

# every command, on database $1: prints "rc:named" per command
every_command() {
	for c in "scen-serve-stdin" \
		"scen-gen --experiment trust-2026 --template hiring --factor gender=female --factor age=older --factor tone=warm --position 1" \
		"scen-pool-fill --max-calls 1" "scen-cache-stats" "scen-export"; do
		# shellcheck disable=SC2086
		$c --db "$1" </dev/null >/dev/null 2>cmd.err
		rc=$?
		if grep -q "$1" cmd.err; then named=named; else named=unnamed; fi
		echo "${c%% *} $rc $named"
	done
}

echo "not a database at all, only text" >text.db
is "a text file: every command exits 74 naming it" "$(every_command text.db | sort | tr '\n' ' ')" \
	"scen-cache-stats 74 named scen-export 74 named scen-gen 74 named scen-pool-fill 74 named scen-serve-stdin 74 named "
head -c 100000 /dev/urandom >random.db
is "random bytes: every command exits 74 naming it" "$(every_command random.db | awk '{print $2 $3}' | sort -u)" 74named

# a real database: 40 scenarios, one per key, and their servings
design 40 a | scen-serve-stdin >out1 2>err1
is "setup: 40 scenarios" "$(sql 'select count(*) from scenarios')" 40
python3 -c 'import sqlite3; c = sqlite3.connect("scen.db"); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()'
cp scen.db sound.db
rm -f scen.db-wal scen.db-shm

head -c 3000 sound.db >truncated.db
is "a truncated database: every command exits 74 naming it" \
	"$(every_command truncated.db | awk '{print $2 $3}' | sort -u)" 74named

# a damaged index page: a process that writes refuses it at open
cp sound.db damaged.db
damage_page damaged.db servings_time
req d1 sd1 | scen-serve-stdin --db damaged.db >d.out 2>d.err
is "damaged pages: scen-serve-stdin exits 74" "$?" 74
check "... saying the file is damaged" grep -q "damaged.db: the database is damaged" d.err
is "... and answers nothing" "$(wc -l <d.out)" 0
is "damaged pages: the writers exit 74, the readers never crash" \
	"$(every_command damaged.db | awk '{print $1, ($2 == 74 || $2 == 0) ? "ok" : $2}' | tr '\n' ' ')" \
	"scen-serve-stdin ok scen-gen ok scen-pool-fill ok scen-cache-stats ok scen-export ok "
is "... the writers, 74" "$(every_command damaged.db | grep -E '^scen-(serve-stdin|gen|pool-fill) ' | awk '{print $2 $3}' | sort -u)" 74named

# a text damaged in place (bit rot: the page is sound, the text is not)
cp sound.db rot.db
key1="factors = '{\"age\":\"younger\",\"gender\":\"female\",\"tone\":\"neutral\"}'"
row1=$(sql "select id from scenarios where $key1 and position = 1")
sid1=$(sql "select sid from scenarios where id = $row1")
python3 - rot.db "$row1" <<'PY'
import sqlite3, sys
path = sys.argv[1]
c = sqlite3.connect(path)
text = c.execute("SELECT text FROM scenarios WHERE id = ?",
                 (int(sys.argv[2]),)).fetchone()[0]
c.close()
raw = open(path, "rb").read()
i = raw.find(text.encode())
assert i >= 0 and raw.find(text.encode(), i + 1) < 0
j = i + len(text) // 2
with open(path, "r+b") as f:
    f.seek(j)
    f.write(b"X" if raw[j:j + 1] != b"X" else b"Y")
PY
# the same key as scenario 1, from new sessions; cache then relaxed
for k in 1 2 3; do req "r$k" "sr$k" female younger neutral 1; done >rot.in
scen-serve-stdin -c stored.yaml --db rot.db <rot.in >rot.out 2>rot.err
is "a rotten text: exit 0" "$?" 0
is "... never served" "$(grep -c "$sid1" rot.out)" 0
is "... the requests are answered from other scenarios" "$(j 'r["status"] + " " + r["tier"]' rot.out | sort -u)" "ok relaxed"
check "... and it is named" grep -q "rot.db: scenario $sid1 (row $row1) is damaged: its text does not match its checksum; it is not served" rot.err
is "... once" "$(grep -c "$sid1" rot.err)" 1

# a row that no longer matches its key (its factors changed under it)
cp sound.db moved.db
row2=$(sql "select id from scenarios where $key1 and position = 2")
sid2=$(sql "select sid from scenarios where id = $row2")
python3 - moved.db "$row2" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE scenarios SET factors = replace(factors, 'neutral', 'warm')"
          " WHERE id = ?", (int(sys.argv[2]),))
c.commit()
PY
for k in 1 2 3; do req "m$k" "sm$k" female younger neutral 2; done >moved.in
scen-serve-stdin -c stored.yaml --db moved.db <moved.in >moved.out 2>moved.err
is "a row off its key: exit 0" "$?" 0
is "... never served" "$(grep -c "$sid2" moved.out)" 0
is "... the requests are answered" "$(j 'r["status"]' moved.out | sort -u)" ok

# random garbage in the middle of a real database, at 24 places: never a
# crash, never a wrong text; an error names the file
python3 - sound.db >garbage.log <<'PY'
import json, os, random, sqlite3, subprocess, sys
sound = sys.argv[1]
c = sqlite3.connect("file:" + sound + "?mode=ro", uri=True)
texts = dict(c.execute("SELECT sid, text FROM scenarios"))
c.close()
size = os.path.getsize(sound)
rng = random.Random(8020)
lines = []
for i in range(40):
    lines.append(json.dumps({"id": "g%d" % i, "session": "gs%d" % i,
        "experiment": "trust-2026", "template": "hiring",
        "factors": {"gender": "female", "age": "younger",
                    "tone": ["neutral", "warm", "cold"][i // 10 % 3]},
        "position": i % 10 + 1}))
stdin = ("\n".join(lines) + "\n").encode()
runs = crashes = wrong = unnamed = oks = fails = 0
for k in range(24):
    path = "g%d.db" % k
    data = bytearray(open(sound, "rb").read())
    at = 4096 + (size - 4096) * k // 24 + rng.randrange(0, 2048)
    n = rng.randrange(16, 512)
    data[at:at + n] = bytes(rng.randrange(256) for _ in range(n))
    open(path, "wb").write(bytes(data))
    p = subprocess.run(["scen-serve-stdin", "-c", "stored.yaml", "--db", path],
                       input=stdin, capture_output=True, timeout=60)
    runs += 1
    if p.returncode not in (0, 74):
        crashes += 1
        print("run", k, "at", at, "exit", p.returncode, p.stderr.decode()[-300:])
    if p.returncode == 74:
        fails += 1
        if path.encode() not in p.stderr:
            unnamed += 1
    for line in p.stdout.decode().splitlines():
        a = json.loads(line)
        if a["status"] == "ok":
            oks += 1
            if texts.get(a["scenario_id"]) != a["text"]:
                wrong += 1
                print("run", k, "wrong text for", a["scenario_id"])
print("runs", runs, "crashes", crashes, "wrong", wrong, "unnamed", unnamed,
      "ok", oks, "failed", fails)
PY
summary=$(tail -n 1 garbage.log)
echo "# $summary"
is "garbage: 24 runs" "$(echo "$summary" | awk '{print $2}')" 24
is "garbage: no crash" "$(echo "$summary" | awk '{print $4}')" 0
is "garbage: no wrong text" "$(echo "$summary" | awk '{print $6}')" 0
is "garbage: every error names the file" "$(echo "$summary" | awk '{print $8}')" 0
cmp_num "garbage: some runs still answered" "$(echo "$summary" | awk '{print $10}')" -gt 0
done_testing
