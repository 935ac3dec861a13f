# scen-cache-stats and scen-export by a user who may only read the
# database (the file 0444 in a folder the user may write, or the folder
# not writable): every stats format and both export formats work (exit 0),
# give the same output as on a copy the user may write, and create no
# file. While a scen-serve-stdin writes (its -wal and -shm there), such a
# reader sees what it committed. Run as root: the reader is nobody.
. "$(dirname "$0")/../lib/test-lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	ok "# SKIP needs root and setpriv to read as another user"
	done_testing
	exit 0
fi
fake_start
write_config
for p in 1 2 3 4; do req "a$p" "sa$p" female older warm "$p"; done |
	scen-serve-stdin >out 2>err
is "setup: served" "$(j 'r["status"]' out | sort -u)" ok
chmod 755 "$T"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# the same clock for every run: the figures of a window do not move
# (a second on, so that what the writer below serves comes after the rest)
SCEN_CLOCK_SCALE=1e-300 SCEN_CLOCK_EPOCH=$(($(date +%s) + 1))
export SCEN_CLOCK_SCALE SCEN_CLOCK_EPOCH

# reads D TAG: every stats format and export in folder D, as nobody,
# into D.TAG.*; the exit statuses in D.TAG.rc
reads() {
	: >"$1.$2.rc"
	for a in "scen-cache-stats" "scen-cache-stats --json" \
		"scen-cache-stats --prometheus" "scen-cache-stats --check" \
		"scen-cache-stats --verify" "scen-cache-stats --html -" \
		"scen-export" "scen-export --format csv" \
		"scen-export --what scenarios --format csv" \
		"scen-export --what templates"; do
		n=$(echo "$a" | tr -c 'a-z\n' '_')
		# shellcheck disable=SC2086
		(cd "$1" && as_nobody $a -c scen.yaml) >"$1.$2.$n" 2>>"$1.$2.err"
		echo "$a $?" >>"$1.$2.rc"
	done
}
# same D TAG: the outputs of reads D TAG are those of D.ref
same() {
	for f in "$1".ref.scen*; do
		cmp -s "$f" "${f/.ref./.$2.}" || echo "${f#"$1".ref.} differs"
	done
}

mkdir d
cp scen.db d/ && cp scen.yaml d/ && chmod 644 d/scen.db
# the reference: a copy nobody may write, in a folder it may write
chown -R nobody d
reads d ref
is "writable copy: every read exits 0 (--check: its level, WARNING)" \
	"$(grep -v ' 0$' d.ref.rc)" "scen-cache-stats --check 1"
check "writable copy: the stats and export have rows" grep -q '"serving":4' d.ref.scen_export
rm -f d/scen.db-wal d/scen.db-shm

# the file 0444 (root's), in a folder nobody may write
chown root d/scen.db && chmod 444 d/scen.db
reads d ro-file
is "file 0444: every read exits as on the copy" "$(cat d.ro-file.rc)" "$(cat d.ref.rc)"
is "file 0444: no warning or error" "$(cat d.ro-file.err)" ""
is "file 0444: the same output" "$(same d ro-file)" ""
is "file 0444: no file created" "$(ls -A d | tr '\n' ' ')" "scen.db scen.yaml "

# the folder not writable (root's, 0755), the file 0644 (and nothing
# left beside it by the case above, whatever it did)
rm -f d/scen.db-wal d/scen.db-shm
chown -R root d && chmod 755 d && chmod 644 d/scen.db
reads d ro-dir
is "folder read-only: every read exits as on the copy" "$(cat d.ro-dir.rc)" "$(cat d.ref.rc)"
is "folder read-only: no warning or error" "$(cat d.ro-dir.err)" ""
is "folder read-only: the same output" "$(same d ro-dir)" ""
is "folder read-only: no file created" "$(ls -A d | tr '\n' ' ')" "scen.db scen.yaml "

# a writer at work in that folder: its -wal and -shm (0644, root's) are
# there, and what it committed is in the -wal only
cp scen.yaml d/w.yaml
rm -f fifo && mkfifo fifo
(cd d && exec scen-serve-stdin -c w.yaml <../fifo >../w.out 2>../w.err) &
pid=$!
exec 3>fifo
req w1 sw1 female older warm 5 >&3
wait_lines w.out 1
is "the writer served" "$(j 'r["status"]' w.out)" ok
check "its -wal is there" test -s d/scen.db-wal
(cd d && as_nobody scen-export -c scen.yaml) >w.jsonl 2>w.rerr
is "while it writes: the export exits 0 and sees its serving" \
	"$?:$(wc -l <w.jsonl | tr -d ' '):$(tail -n 1 w.jsonl | j 'r["request_id"]')" "0:5:w1"
(cd d && as_nobody scen-cache-stats --json -c scen.yaml) >w.json 2>>w.rerr
is "while it writes: the stats count it" "$?:$(j 'r["totals"]["servings"]' w.json 2>/dev/null || j 'list(r["totals"])' w.json)" "0:5"
is "no file owned by the reader" "$(find d -user nobody | wc -l)" 0
exec 3>&-
wait $pid
is "the writer ends well" "$?" 0

# a study archived read-only by the previous scen (schema 2): read as it
# is, not "needs migrating", which a reader could not do
mkdir old
python3 -c '
import sqlite3, sys
c = sqlite3.connect("old/scen.db")
c.executescript(open(sys.argv[1]).read())
' "$SCEN_TEST_DATA/schema-v2.sql"
cp scen.yaml old/ && chmod 444 old/scen.db && chmod 555 old
(cd old && as_nobody scen-export -c scen.yaml) >old.jsonl 2>old.err
oldsql() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:old/scen.db?immutable=1", uri=True)
print(c.execute(sys.argv[1]).fetchone()[0])' "$1"
}
is "schema 2, read-only: the export exits 0 with its servings" \
	"$?:$(wc -l <old.jsonl | tr -d ' ')" "0:$(oldsql 'select count(*) from servings')"
(cd old && as_nobody scen-cache-stats --json -c scen.yaml) >old.json 2>>old.err
is "schema 2, read-only: the stats exit 0" "$?" 0
is "schema 2, read-only: no warning or error" "$(cat old.err)" ""
is "schema 2, read-only: still schema 2, nothing created" \
	"$(oldsql 'pragma user_version') $(ls -A old | tr '\n' ' ')" "2 scen.db scen.yaml "
done_testing
