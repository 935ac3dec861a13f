# The fake provider the other tests rely on behaves like Groq: answers,
# limits, headers, 429 messages and every fault mode.
out=$(bash "$(dirname "$0")/../lib/fake-provider-selftest.sh" 2>&1)
rc=$?
echo "$out" | tail -1
p=$(echo "$out" | sed -n 's/^fake-provider selftest: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
set -- $p
i=0
while [ "$i" -lt "${1:-0}" ]; do i=$((i + 1)); echo "ok $i - fake provider check"; done
j=0
while [ "$j" -lt "${2:-1}" ]; do j=$((j + 1)); echo "not ok $((i + j)) - fake provider check"; done
[ "$rc" -eq 0 ]
