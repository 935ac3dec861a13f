# scen-cache-stats --html: one self-contained page (no scripts, no external
# fonts, images or styles), with the four charts as inline SVG, the alerts
# and the figures; where Chromium is installed, a headless screenshot of it
# is taken without errors.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
sed -i 's/rpm: 1000}/rpm: 1000, rph: 500, rpd: 40}/' "$SCEN_CONFIG"
for p in 1 2 3 4 5 6; do req "a$p" "sa$p" female older warm "$p"; done >in
for p in 1 2 3 4; do req "b$p" "sb$p" female older warm "$p"; done >>in
for p in 1 2 3; do req "c$p" "sc$p" male younger cold "$p"; done >>in
scen-serve-stdin <in >out 2>err
is "served" "$(j 'r["status"]' out | sort -u)" ok

scen-cache-stats --html report.html >stdout.out 2>err
is "--html: exit 0" "$?" 0
is "--html alone: nothing on standard output" "$(cat stdout.out)" ""
python3 - report.html >structure.out <<'PY'
import re, sys
from html.parser import HTMLParser
text = open(sys.argv[1], encoding="utf-8").read()
problems = []
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.svgs, self.shapes = [], {}, 0, 0
        self.text = []
    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "srcset"):
                problems.append("external reference %s=%r" % (k, v))
            if k.startswith("on"):
                problems.append("script attribute %s" % k)
        if tag == "svg":
            self.svgs += 1
        if tag in ("rect", "line", "polyline", "circle") and "svg" in self.stack:
            self.shapes += 1
        if tag not in ("meta", "br", "line", "rect", "circle", "polyline", "i"):
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
    def handle_endtag(self, tag):
        if tag in ("line", "rect", "circle", "polyline", "i"):
            return
        if not self.stack or self.stack[-1] != tag:
            problems.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
            return
        self.stack.pop()
    def handle_data(self, d):
        self.text.append(d)
p = P()
p.feed(text)
p.close()
if not text.startswith("<!DOCTYPE html>"):
    problems.append("no doctype")
for t in ("html", "head", "title", "style", "body", "h1", "table"):
    if not p.tags.get(t):
        problems.append("no <%s>" % t)
for t in ("script", "link", "img", "iframe", "object", "embed"):
    if p.tags.get(t):
        problems.append("<%s> present" % t)
for pat in ("http://", "https://", "url(", "@import", "@font-face"):
    if pat in text:
        problems.append("%s present" % pat)
if p.svgs < 4:
    problems.append("%d svg charts" % p.svgs)
if p.shapes < 20:
    problems.append("only %d shapes in the charts" % p.shapes)
if p.stack:
    problems.append("left open: %s" % p.stack)
words = " ".join(p.text)
for w in ("Answers per hour by tier", "Hit rate against its band",
          "Accounts: usage against limits", "Queue wait of fresh jobs",
          "Alerts", "groq-a", "groq-b", "trust-2026/hiring"):
    if w not in words:
        problems.append("no %r" % w)
print("\n".join(problems) if problems else "ok")
PY
is "--html: structure, self-contained" "$(cat structure.out)" ok
check "the tier chart has a bar per tier served" \
	sh -c 'grep -c "<title>[^<]* cache [0-9]*</title>" report.html | grep -qv "^0$" &&
		grep -q "<title>[^<]* fresh [0-9]*</title>" report.html'
check "the account chart shows the day against rpd" \
	grep -qE "[0-9]+ of 40 \([0-9.]+%\)" report.html
check "the hit-rate chart shows the band" grep -q 'class="band"' report.html
check "the page names its status" grep -qE 'class="status (OK|WARNING|CRITICAL)"' report.html

scen-cache-stats --html - >stdout.html 2>err
is "--html -: the page on standard output" "$(head -c 15 stdout.html)" "<!DOCTYPE html>"
scen-cache-stats --html - --json >/dev/null 2>&1
is "--html - with --json: usage error" "$?" 64
scen-cache-stats --html report2.html --check >check.out 2>&1
is "--html with --check: the check's status" "$?" 1
check "--html with --check: the page is written too" test -s report2.html
scen-cache-stats --html /nonexistent/dir/r.html >/dev/null 2>&1
is "--html into a missing folder: 74" "$?" 74

if [ -x /usr/bin/chromium ]; then
	prof=$(mktemp -d)
	timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--no-first-run --disable-background-networking \
		--user-data-dir="$prof" --window-size=1000,2400 \
		--screenshot="$T/shot.png" "file://$T/report.html" \
		>chromium.out 2>&1
	is "chromium: screenshot taken (exit 0)" "$?" 0
	check "chromium: a PNG" sh -c "head -c 8 '$T/shot.png' | od -An -c | grep -q 'P   N   G'"
	check "chromium: a picture of some size" test "$(stat -c %s "$T/shot.png")" -gt 20000
	rm -rf "$prof"
else
	ok "chromium screenshot # SKIP /usr/bin/chromium is not installed"
fi
done_testing
