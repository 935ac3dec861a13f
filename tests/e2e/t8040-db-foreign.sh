# A SQLite file that is not scen's (another program's tables, or another
# program's application_id) is refused by every command with exit 65 and
# a message naming it, and left byte for byte as it was, with no -wal,
# -shm or -journal beside it. A file of no tables (0 bytes, or a SQLite
# header alone) is initialised and gets scen's mark (application_id
# "scen"); a database from before the mark still opens and gets it.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
python3 - <<'PY'
import sqlite3
c = sqlite3.connect("notes.db")          # rollback journal, tables
c.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)")
c.execute("INSERT INTO notes(body) VALUES ('a note of another program')")
c.commit(); c.close()
c = sqlite3.connect("walapp.db")         # WAL, tables
c.execute("PRAGMA journal_mode = WAL")
c.execute("CREATE TABLE t(x)"); c.execute("INSERT INTO t VALUES (1)")
c.commit(); c.close()
c = sqlite3.connect("marked.db")         # another program's mark alone
c.execute("PRAGMA application_id = 1234")
c.commit(); c.close()
PY
for f in notes.db walapp.db marked.db; do
	sum0=$(sha256sum <"$f")
	for c in "scen-serve-stdin" \
		"scen-gen --experiment trust-2026 --template hiring --factor gender=female --factor age=older --factor tone=warm --position 1" \
		"scen-pool-fill --max-calls 1" "scen-pool-fill --dry-run" \
		"scen-cache-stats" "scen-cache-stats --verify" "scen-export"; do
		# shellcheck disable=SC2086
		req b1 s2 | $c --db "$f" >c.out 2>c.err
		is "$f: $c: exit 65, nothing on stdout" "$?:$(wc -c <c.out | tr -d ' ')" "65:0"
		check "$f: $c: the message names the file" \
			grep -q "^scen-[a-z-]*: $f: not a scen database (.*); left as it is$" c.err
	done
	is "$f: byte for byte as it was" "$(sha256sum <"$f")" "$sum0"
	is "$f: nothing beside it" "$(ls "$f"* | tr '\n' ' ')" "$f "
done
is "no provider call was made" "$(fake_stat 'r["calls"]')" 0

# another program's database caught mid-write: in WAL mode with its last
# commits only in the -wal (the program died before a checkpoint), and
# with a hot rollback journal. Neither is checkpointed nor rolled back:
# the file, its -wal and its journal stay as they were (the -shm, an index
# of the -wal that any reader rebuilds, is not the database's content).
python3 - <<'PY'
import os, sqlite3
c = sqlite3.connect("livewal.db")
c.execute("PRAGMA journal_mode = WAL")
c.execute("PRAGMA wal_autocheckpoint = 0")
c.execute("CREATE TABLE t(x)"); c.commit()
c.execute("INSERT INTO t VALUES (randomblob(5000))"); c.commit()
pid = os.fork()
if pid == 0:
    c2 = sqlite3.connect("hot.db")
    c2.execute("PRAGMA journal_mode = DELETE")
    c2.execute("CREATE TABLE t(x)"); c2.commit()
    c2.execute("INSERT INTO t VALUES (randomblob(20000))"); c2.commit()
    c2.execute("BEGIN"); c2.execute("DELETE FROM t")
    c2.execute("INSERT INTO t VALUES (randomblob(30000))")
    c2.execute("PRAGMA cache_spill = 1")
    c2.execute("UPDATE t SET x = randomblob(40000)")
    os._exit(0)                           # dies mid-transaction
os.waitpid(pid, 0)
os._exit(0)                               # dies before a checkpoint
PY
for f in livewal.db hot.db; do
	before=$(for g in "$f" "$f-wal" "$f-journal"; do
		[ -e "$g" ] && echo "$g $(sha256sum <"$g")"; done)
	for c in scen-serve-stdin scen-export; do
		req b1 s2 | $c --db "$f" >c.out 2>c.err
		is "$f: $c: exit 65" "$?" 65
	done
	is "$f: it, its -wal or journal as they were" "$(for g in "$f" \
		"$f-wal" "$f-journal"; do [ -e "$g" ] &&
		echo "$g $(sha256sum <"$g")"; done)" "$before"
done

# a new file, a 0-byte file and a SQLite file without tables: scen's
: >zero.db
python3 -c 'import sqlite3; c = sqlite3.connect("blank.db"); c.execute("VACUUM"); c.close()'
for f in new.db zero.db blank.db; do
	req "n-$f" "s-$f" | scen-serve-stdin --db "$f" >n.out 2>n.err
	is "$f: initialised and served" "$?:$(j 'r["status"]' n.out)" "0:ok"
	is "$f: scen's mark" "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("pragma application_id").fetchone()[0])' "$f")" 1935893870
done

# a scen database from before the mark: read as it is, marked when next
# written
python3 -c 'import sqlite3; c = sqlite3.connect("new.db"); c.execute("PRAGMA application_id = 0"); c.commit()'
scen-export --db new.db >e.out 2>e.err
is "unmarked scen database: scen-export reads it" "$?:$(wc -l <e.out | tr -d ' ')" "0:1"
req m1 sm1 | scen-serve-stdin --db new.db >m.out 2>m.err
is "unmarked scen database: served" "$?:$(j 'r["status"]' m.out)" "0:ok"
is "... and now marked" "$(python3 -c 'import sqlite3; print(sqlite3.connect("new.db").execute("pragma application_id").fetchone()[0])')" 1935893870
done_testing
