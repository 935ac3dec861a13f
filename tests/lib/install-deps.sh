#!/bin/sh
# Installs the Debian packages scen needs to build and test, when missing.
# Run as root (make demo and make check call it); a no-op when all are there.
pkgs="make gcc pkg-config libcurl4-openssl-dev libsqlite3-dev libyaml-dev
libxxhash-dev libjansson-dev libcmocka-dev python3 curl mandoc clang
libclang-rt-14-dev valgrind libpq-dev postgresql postgresql-client"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null
