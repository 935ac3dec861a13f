# examples/crontab: the times its comments state are those of its entries
# (the minute and hour fields, --until, where timeout ends the night's run,
# and when the morning's --collect run starts), and the two never overlap.
. "$(dirname "$0")/../lib/test-lib.sh"
python3 - "$SCEN_TOP/examples/crontab" >res <<'PY'
import re, sys
text = open(sys.argv[1]).read()
entries = [l for l in text.splitlines() if re.match(r"[0-9*]", l)]
comment = " ".join(l[1:].strip() for l in text.splitlines() if l.startswith("#"))
print("entries", len(entries))
e = entries[0].split()
minute, hour = int(e[0]), int(e[1])
until = re.search(r"--until (\d\d):(\d\d)", entries[0])
uh, um = int(until.group(1)), int(until.group(2))
t = re.search(r"timeout (?:(\d+)h)?(?:(\d+)m)?", entries[0])
end = hour * 60 + minute + int(t.group(1) or 0) * 60 + int(t.group(2) or 0)
hm = lambda m: "%d:%02d" % (m // 60 % 24, m % 60)
m = re.search(r"every night at (\d+:\d\d), until (\d+:\d\d)", comment)
print("start", m.group(1) == hm(hour * 60 + minute))
print("until", m.group(2) == hm(uh * 60 + um))
m = re.search(r"--until stops it at (\d+:\d\d)", comment)
print("stops", m.group(1) == hm(uh * 60 + um))
m = re.search(r"SIGTERM at (\d+:\d\d)", comment)
print("tend", m is not None and m.group(1) == hm(end))
print("timeout after until", end % 1440 > uh * 60 + um)
# the morning's entry: it only collects, when the comments say, after the
# night's run is over (timeout included), under the same cron lock
c = entries[1].split() if len(entries) > 1 else ["0", "0"]
cstart = int(c[1]) * 60 + int(c[0])
m = re.search(r"collects at (\d+:\d\d)", comment)
print("morning", m is not None and m.group(1) == hm(cstart))
print("collect only", len(entries) > 1 and "scen-pool-fill -q --collect" in entries[1]
      and "--until" not in entries[1])
print("collect after", cstart > end % 1440)
lock = lambda l: re.search(r"flock -n (\S+)", l)
print("same lock", len(entries) > 1 and lock(entries[1]) is not None
      and lock(entries[1]).group(1) == lock(entries[0]).group(1))
PY
is "two entries" "$(grep entries res)" "entries 2"
is "the first comment's start time is the entry's" "$(grep start res)" "start True"
is "the first comment's end time is --until's" "$(grep '^until' res)" "until True"
is "'--until stops it at' names --until's time" "$(grep stops res)" "stops True"
is "timeout's end is stated, and right" "$(grep tend res)" "tend True"
is "timeout ends a run only after --until" "$(grep after res | head -1)" "timeout after until True"
is "'collects at' names the second entry's time" "$(grep morning res)" "morning True"
is "the second entry only collects" "$(grep 'collect only' res)" "collect only True"
is "it starts after the night's run is over" "$(grep 'collect after' res)" "collect after True"
is "under the same cron lock" "$(grep 'same lock' res)" "same lock True"
done_testing
