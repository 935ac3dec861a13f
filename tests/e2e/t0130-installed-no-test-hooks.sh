# The installed build (make: build/, what make install copies) holds none
# of the test hooks: no hook's name is in its binaries, and setting the
# hooks' variables changes nothing (the clock stays real, commits are not
# failed); the test build that the other tests run does obey them.
# make check passes the installed build as SCEN_PLAIN_BUILD.
. "$(dirname "$0")/../lib/test-lib.sh"
plain=${SCEN_PLAIN_BUILD:-$SCEN_TOP/build}
case $plain in /*) ;; *) plain=$SCEN_TOP/$plain ;; esac
hooks='SCEN_(DB_FAIL|DB_MAX|CLOCK|HOST|KILL_AT)'
check "the installed build is there ($plain: make all)" test -x "$plain/bin/scen-serve-stdin"
is "the installed binaries name no test hook" \
	"$(strings "$plain"/bin/* | grep -E "$hooks" | sort -u | tr '\n' ' ')" ""
is "the test build's do (the check above can see them)" \
	"$(strings "$SCEN_BUILD/bin/scen-serve-stdin" | grep -oE "${hooks}[A-Z_]*" | sort -u | tr '\n' ' ')" \
	"SCEN_CLOCK_EPOCH SCEN_CLOCK_SCALE SCEN_DB_FAIL_AFTER SCEN_DB_FAIL_FILE SCEN_DB_MAX_PAGES SCEN_HOST SCEN_KILL_AT "

fake_start
write_config
# every commit failed, a clock a thousand times fast from 1970: the
# installed build ignores both, stores the serving, keeps real time
req p1 sp1 | SCEN_DB_FAIL_AFTER=0 SCEN_CLOCK_SCALE=1000 SCEN_CLOCK_EPOCH=0 \
	"$plain/bin/scen-serve-stdin" >out1 2>err1
is "installed: the request is served fresh" "$(j 'r["tier"]' out1)" fresh
is "... and its serving is in the database, not spooled" \
	"$(sql 'select count(*) from servings'):$(test -e scen.db.spool && echo spool)" "1:"
is "... at the real time" \
	"$(sql "select abs(served_at - $(date +%s)) < 600 from servings")" 1
# the test build, the same way: the commit fails, the serving is spooled
req p2 sp2 | SCEN_DB_FAIL_AFTER=0 SCEN_CLOCK_SCALE=1000 SCEN_CLOCK_EPOCH=0 \
	scen-serve-stdin >out2 2>err2
check "test build: the commit fails as the hook says" grep -q SCEN_DB_FAIL_AFTER err2
is "... and no serving reaches the database" "$(sql 'select count(*) from servings')" 1
done_testing
