# The crash test with 60 kills (make check-long).
SCEN_LONG=1 exec bash "$(dirname "$0")/../e2e/t8510-crash-kill9.sh"
