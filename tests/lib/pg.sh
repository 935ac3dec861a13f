# pg.sh — a throwaway PostgreSQL server for a test: source it after
# test-lib.sh, then pg_start. The cluster lives in $T/pg and listens only
# on a Unix socket there (no TCP at all); its superuser is scen, trusted.
# When run as root, the server runs as the postgres account. It is
# stopped at exit, whether the test passes or not.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_DIR=$T/pg
PG_STARTED=

# _pg COMMAND...: runs a server program as the account that owns the
# cluster
_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_start: makes the cluster, starts it, creates database scen; exports
# SCEN_PG_URI (a libpq URI for it)
pg_start() {
	if [ ! -x "$PG_BIN/initdb" ]; then
		echo "Bail out! no PostgreSQL server (initdb) under /usr/lib/postgresql"
		exit 1
	fi
	mkdir -p "$PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		# the server's account goes through $T (not into it) to its own
		chmod 711 "$T"
		chown postgres "$PG_DIR"
	fi
	_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U scen --auth=trust -E UTF8 \
		--no-locale --no-sync >"$T/pg-initdb.log" 2>&1 ||
		{ cat "$T/pg-initdb.log"; echo "Bail out! initdb failed"; exit 1; }
	cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
CONF
	trap '_pg_at_exit' EXIT
	# killed (a timeout, ^C): still through the exit trap
	trap 'exit 143' TERM HUP INT
	PG_STARTED=1
	pg_ctl_do start -w -l "$PG_DIR/log" ||
		{ cat "$PG_DIR/log"; echo "Bail out! the server did not start"; exit 1; }
	export SCEN_PG_URI="postgresql:///scen?host=$PG_DIR&user=scen"
	psql -XAtq "postgresql:///postgres?host=$PG_DIR&user=scen" \
		-c "CREATE DATABASE scen" >/dev/null ||
		{ echo "Bail out! cannot create database scen"; exit 1; }
}

# pg_ctl_do ARGS...: pg_ctl on the cluster
pg_ctl_do() {
	_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" "$@" >/dev/null
}
pg_stop() { pg_ctl_do stop -m fast -w; }
# pg_kill: stops at once, as a crash would (no checkpoint)
pg_kill() { pg_ctl_do stop -m immediate -w; }
# pg_restart: (re)starts the server, whether it runs or not (the server
# keeps the descriptors it is given open: close a fifo's, 3>&-)
pg_restart() { pg_ctl_do restart -m fast -w -l "$PG_DIR/log" 2>/dev/null; }

# pg_use: the config ($SCEN_CONFIG) keeps its database on the server
pg_use() {
	config_with_db "$SCEN_PG_URI" >"$T/cfg.pg" && mv "$T/cfg.pg" "$SCEN_CONFIG"
}

# pg_sql QUERY: runs QUERY on database scen; the rows, fields split by |
pg_sql() {
	psql -XAtq -v ON_ERROR_STOP=1 "$SCEN_PG_URI" -c "$1"
}

_pg_at_exit() {
	[ -n "$PG_STARTED" ] && pg_ctl_do stop -m immediate -w 2>/dev/null
	cleanup
}
