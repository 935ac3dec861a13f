# A turn that loses its PostgreSQL connection half-way (its catch-up held
# by another session's lock): the turn is answered again, from memory or,
# when the connection comes back at the first try, as any turn is; a
# status line in that turn is answered by its kind; every line gets its
# answer, every ok is exported once, the process exits 0.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
fake_start
pg_start
write_config
pg_use
trap "" PIPE

# lost_turn P HOW ANSWERS: a turn whose connection goes while it waits for
# a lock; HOW is "terminate" (the server stays: back at the first try) or
# "kill" (the server goes down, then up again: the turn is answered from
# memory, where a new session's history is unknown: unavailable);
# ANSWERS, the second request's, then the oks exported
lost_turn() {
	rm -f fifo out err && mkfifo fifo
	scen-serve-stdin <fifo >out 2>err &
	pid=$!
	exec 3>fifo
	req "$1-1" "$1-s1" female older warm 1 >&3
	wait_lines out 1
	psql -XAtq "$SCEN_PG_URI" -c "BEGIN; LOCK TABLE servings;
		SELECT pg_sleep(3); COMMIT" >/dev/null 2>&1 &
	sleep 0.5
	req "$1-2" "$1-s2" female older warm 1 >&3
	printf '{"id":"%s-st","op":"status","job":"j-0000000000000000"}\n' "$1" >&3
	sleep 0.7
	if [ "$2" = terminate ]; then
		pg_sql "select count(pg_terminate_backend(pid)) from pg_stat_activity
			where datname = 'scen' and wait_event_type = 'Lock'" >/dev/null
	else
		pg_kill
		sleep 1
		pg_restart 3>&-
	fi
	sleep 3
	req "$1-3" "$1-s3" female older warm 1 >&3
	wait_lines out 4
	exec 3>&-
	wait "$pid"
	is "$2: exit 0" "$?" 0
	is "$2: every line answered" \
		"$(j 'r["id"] + ":" + r["status"]' out | sort | tr '\n' ' ')" \
		"$1-1:ok $1-2:$3 $1-3:ok $1-st:error "
	is "$2: every ok exported, once" \
		"$(scen-export | j 'r["request_id"]' | grep "^$1-" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" \
		"$4"
}
lost_turn t terminate ok "t-1:1 t-2:1 t-3:1 "
lost_turn k kill unavailable "k-1:1 k-3:1 "
done_testing
