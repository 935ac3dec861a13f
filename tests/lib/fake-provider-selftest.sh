#!/usr/bin/env bash
# fake-provider-selftest.sh - checks tests/lib/fake-provider.py with curl + jq.
# Starts two fakes on free ports: A (no limits) for answers, faults and stats,
# B (rpm/rpd/tpm limits, SCEN_CLOCK_SCALE=60) for the rate limits, C (rpm/rpd 2,
# SCEN_CLOCK_SCALE=100) for the Batch API. Takes ~5 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
FAKE="$HERE/fake-provider.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/fake-selftest.XXXXXX")
PASS=0 FAIL=0 PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

ok()  { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }
check() { local d=$1; shift; if "$@"; then ok; else bad "$d"; fi; }
# jqt DESC FILTER: the jq filter must yield true on the last body
jqt() { if jq -e "$2" "$T/body" >/dev/null 2>&1; then ok; else bad "$1 [$2] body: $(head -c 300 "$T/body")"; fi; }
# jqs FILTER FILE: the jq filter must yield true on the file's JSON lines (slurped)
jqs() { jq -se "$1" "$2" >/dev/null 2>&1; }
hdr() { tr -d '\r' < "$T/hdr" | awk -v h="$1" 'tolower($1) == tolower(h) ":" { print $2 }' | tail -1; }

start() {  # start NAME ENV... -- ARGS...: runs a fake in the background
    local name=$1 envs=(); shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    env "${envs[@]}" "$FAKE" --port-file "$T/$name.port" "$@" >"$T/$name.err" 2>&1 &
    PIDS+=($!)
}
port_of() {  # port_of NAME: waits (up to 10 s) for the fake's port file
    for _ in $(seq 200); do [ -s "$T/$1.port" ] && break; sleep 0.05; done
    cat "$T/$1.port" 2>/dev/null
}
# call PORT KEY [BODY] [extra curl args]: POST a completion; sets CODE and RC
call() {
    local port=$1 key=$2
    local body=${3:-'{"model":"llama-3.1-8b-instant","messages":[{"role":"system","content":"You write scenarios."},{"role":"user","content":"A cat finds a key."}],"temperature":0.7,"max_tokens":400}'}
    shift 3 2>/dev/null || shift $#
    CODE=$(curl -sS --max-time 5 -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
        -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        --data-binary "$body" "$@" "http://127.0.0.1:$port/openai/v1/chat/completions" 2>"$T/curl.err")
    RC=$?
}
ctl() { curl -sS -o /dev/null -w '%{http_code}' -XPOST -d "$2" "http://127.0.0.1:$1/_control"; }

start A -- --keys k0,k1 --log "$T/a.log"
start B SCEN_CLOCK_SCALE=60 -- --keys k0,k1 --rpm 3 --rpd 5 --tpm 500
A=$(port_of A) B=$(port_of B)
check "fake A started" test -n "$A"
check "fake B started" test -n "$B"
if command -v ss >/dev/null; then
    check "binds 127.0.0.1 only" test "$(ss -ltnH "sport = :$A" | awk '{print $4}')" = "127.0.0.1:$A"
fi
check "/_health" test "$(curl -sS "http://127.0.0.1:$A/_health")" = ok

# --- a normal answer
call "$A" k0
check "ok status 200" test "$CODE" = 200
jqt "ok shape" '.object == "chat.completion" and (.id | startswith("chatcmpl-"))
  and (.created | type == "number") and .model == "llama-3.1-8b-instant"
  and .choices[0].index == 0 and .choices[0].message.role == "assistant"
  and .choices[0].finish_reason == "stop" and (.x_groq.id | startswith("req_"))
  and .usage.total_tokens == .usage.prompt_tokens + .usage.completion_tokens'
jqt "ok text" '.choices[0].message.content | startswith("Scenario #1. A cat finds a key.") and length >= 300
  and (ascii_downcase | test("as an ai|i can.?t|i cannot") | not)'
for h in x-ratelimit-limit-requests x-ratelimit-remaining-requests x-ratelimit-reset-requests \
         x-ratelimit-limit-tokens x-ratelimit-remaining-tokens x-ratelimit-reset-tokens; do
    check "header $h" test -n "$(hdr "$h")"
done
check "keep-alive + Content-Length" sh -c "curl -sv -H 'Authorization: Bearer k1' -d '{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}' http://127.0.0.1:$A/v1/chat/completions http://127.0.0.1:$A/v1/chat/completions 2>&1 >/dev/null | grep -qi 're-using existing connection'"
call "$A" k1 '{"model":"m","messages":[{"role":"user","content":"As an AI I cannot say: i can'"'"'t"}]}'
jqt "banned phrases removed from echo" '.choices[0].message.content | ascii_downcase | test("as an ai|i can.?t|i cannot") | not'

# --- auth and bad bodies
call "$A" wrong
check "wrong key 401" test "$CODE" = 401
jqt "401 body" '.error.code == "invalid_api_key" and .error.message == "Invalid API Key" and .error.type == "invalid_request_error"'
call "$A" ""
check "no key 401" test "$CODE" = 401
call "$A" k0 '{"model": "m", "messages": '
check "malformed request 400" test "$CODE" = 400
jqt "400 body" '.error.message | type == "string"'
call "$A" k0 '{"model":"m"}'
check "no messages 400" test "$CODE" = 400

# --- fault modes (count 1 each, then back to ok)
fault() { check "control $2" test "$(ctl "$A" "$2")" = 200; call "$A" k0; check "$1: status $CODE" test "$CODE" = "$3"; }
fault refuse '{"mode":"refuse","count":1}' 200
jqt refuse '.choices[0].message.content | test("cannot help") and test("As an AI")'
fault length '{"mode":"length","count":1}' 200
jqt length '.choices[0].finish_reason == "length" and (.choices[0].message.content | length < 300)'
fault empty '{"mode":"empty","count":1}' 200
jqt empty '.choices[0].message.content == ""'
fault malformed '{"mode":"malformed","count":1}' 200
check "malformed body is not JSON" sh -c "! jq . '$T/body' >/dev/null 2>&1"
fault badshape '{"mode":"badshape","count":1}' 200
jqt badshape 'has("choices") | not'
fault 500 '{"mode":"500","count":1}' 500
jqt 500 '.error.message | type == "string"'
fault 503 '{"mode":"503","count":1}' 503
jqt 503 '.error.message | type == "string"'
fault 429 '{"mode":"429","count":1}' 429
check "429 retry-after 2" test "$(hdr retry-after)" = 2
jqt 429 '.error.code == "rate_limit_exceeded" and (.error.message | test("per minute.*Please try again in 2s\\."))'
check "429 has x-ratelimit headers" test -n "$(hdr x-ratelimit-remaining-tokens)"
fault "429 S=7 tpm" '{"mode":"429","count":1,"retry_after":7,"kind":"tpm"}' 429
check "429 retry-after 7" test "$(hdr retry-after)" = 7
jqt "429 tpm" '.error.type == "tokens" and (.error.message | test("tokens per minute \\(TPM\\).*try again in 7s"))'
fault 429day '{"mode":"429day","count":1}' 429
check "429day retry-after" test "$(hdr retry-after)" = 579
jqt 429day '.error.message | test("requests per day \\(RPD\\).*Please try again in 9m38.016s")'
fault "429day S" '{"mode":"429day","count":1,"retry_after":3723.5}' 429
jqt "429day S" '.error.message | test("try again in 1h2m3.5s")'
fault "401 mode" '{"mode":"401","count":1}' 401
s=$(date +%s%N); fault slow '{"mode":"slow","count":1,"delay_ms":300}' 200
check "slow took >= 300ms" test $(( ($(date +%s%N) - s) / 1000000 )) -ge 290
s=$(date +%s%N); fault timeout '{"mode":"timeout","count":1,"delay_ms":300}' 000
check "timeout: no answer (curl rc $RC)" test "$RC" = 52
check "timeout took >= 300ms" test $(( ($(date +%s%N) - s) / 1000000 )) -ge 290
fault reset '{"mode":"reset","count":1}' 200
check "reset: connection cut (curl rc $RC)" sh -c "[ $RC = 56 ] || [ $RC = 18 ]"
call "$A" k0
check "back to ok after count" test "$CODE" = 200
check "control script" test "$(ctl "$A" '{"mode":"script","script":["500","ok",{"mode":"503"}]}')" = 200
codes=""; for _ in 1 2 3 4; do call "$A" k0; codes="$codes$CODE "; done
check "script order ($codes)" test "$codes" = "500 200 503 200 "
ctl "$A" '{"mode":"503"}' >/dev/null; call "$A" k0; c1=$CODE; call "$A" k0; c2=$CODE
ctl "$A" '{"mode":"ok"}' >/dev/null; call "$A" k0
check "default mode sticks ($c1 $c2 $CODE)" test "$c1 $c2 $CODE" = "503 503 200"
check "unknown mode 400" test "$(ctl "$A" '{"mode":"nope"}')" = 400

# --- stats, log, reset
curl -sS "http://127.0.0.1:$A/_stats" >"$T/body"
jqt "stats counts" '.calls == 31 and .ok == 11 and .good == 9
  and .status == {"200":14,"401":3,"400":2,"500":2,"503":4,"429":4,"timeout":1,"reset":1}'
jqt "stats by_key" '.by_key["0"] == 26 and .by_key["1"] == 3 and .by_key["-"] == 1
  and ([.by_key | keys[] | select(startswith("h"))] | length) == 1
  and .ok_by_key == {"0": 8, "1": 3}'
jqt "stats prompts" '.prompts[0] == "A cat finds a key." and (.prompts | length) == 29'
check "log: one line per call" test "$(wc -l < "$T/a.log")" = 31
check "log: valid JSON with key_id/status" jq -se >/dev/null 'all(has("key_id") and has("status") and has("messages"))' "$T/a.log"
check "log: no keys in it" sh -c "! grep -q '\"wrong\"\\|k0\\|k1' '$T/a.log'"
curl -sS -XPOST "http://127.0.0.1:$A/_reset" >/dev/null
curl -sS "http://127.0.0.1:$A/_stats" >"$T/body"
jqt "reset zeroes" '.calls == 0 and .status == {} and .by_key == {} and .prompts == [] and .mode.mode == "ok"'
call "$A" k0
jqt "reset restarts numbering" '.id == "chatcmpl-1"'

# --- rate limits on B (per key, virtual time x60)
for i in 1 2 3; do call "$B" k0 '{"model":"m","messages":[{"role":"user","content":"x"}]}';done
check "rpm: 3 allowed" test "$CODE" = 200
check "rpd headers" test "$(hdr x-ratelimit-limit-requests) $(hdr x-ratelimit-remaining-requests)" = "5 2"
check "tpm header" test "$(hdr x-ratelimit-limit-tokens)" = 500
call "$B" k0 '{"model":"m","messages":[{"role":"user","content":"x"}]}'
check "rpm: 4th is 429" test "$CODE" = 429
ra=$(hdr retry-after)
check "rpm retry-after ($ra) in 1..60" test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 60
jqt "rpm message" '.error.type == "requests" and (.error.message | test("^Rate limit reached for model `m` in organization `[^`]+` on requests per minute \\(RPM\\): Limit 3, Used 3, Requested 1\\. Please try again in [0-9.]+s\\. Visit https://console.groq.com/docs/rate-limits"))'
call "$B" k1 '{"model":"m","messages":[{"role":"user","content":"x"}]}'
check "limits are per key" test "$CODE" = 200
sleep 1.05   # 63 virtual seconds
call "$B" k0 '{"model":"m","messages":[{"role":"user","content":"x"}]}'
check "rpm window slid (virtual minute)" test "$CODE" = 200
call "$B" k0 '{"model":"m","messages":[{"role":"user","content":"x"}]}'
check "5th of day ok" test "$CODE" = 200
call "$B" k0 '{"model":"m","messages":[{"role":"user","content":"x"}]}'
check "rpd: 6th is 429" test "$CODE" = 429
jqt "rpd message" '.error.message | test("requests per day \\(RPD\\): Limit 5, Used 5, Requested 1\\. Please try again in 23h5[0-9]m[0-9.]+s\\.")'
check "rpd retry-after (virtual s)" test "$(hdr retry-after)" -gt 86000
big=$(printf 'w%.0s' $(seq 1200))
call "$B" k1 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"$big\"}]}"
check "tpm: first big prompt ok" test "$CODE" = 200
call "$B" k1 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"$big\"}]}"
check "tpm: second is 429" test "$CODE" = 429
jqt "tpm message" '.error.type == "tokens" and (.error.message | test("tokens per minute \\(TPM\\): Limit 500"))'
check "tpm remaining 0" test "$(hdr x-ratelimit-remaining-tokens)" = 0
call "$B" k1 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"$big$big\"}]}"
check "prompt > tpm: 413" test "$CODE" = 413

# --- Batch API on C (virtual time x100)
# bcall KEY METHOD PATH [curl args]: a Batch API call on C; sets CODE, body in $T/body
bcall() {
    local key=$1 method=$2 path=$3; shift 3
    CODE=$(curl -sS --max-time 5 -o "$T/body" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $key" "$@" "http://127.0.0.1:$C/openai/v1/$path" 2>"$T/curl.err")
}
mkin() {  # mkin N FILE: N chat requests as a batch input file
    for i in $(seq "$1"); do
        printf '{"custom_id":"r%d","method":"POST","url":"/v1/chat/completions","body":{"model":"llama-3.1-8b-instant","messages":[{"role":"user","content":"Prompt %d."}]}}\n' "$i" "$i"
    done >"$2"
}
upload() { bcall "$1" POST files -F purpose=batch -F "file=@$2"; FID=$(jq -r .id "$T/body"); }
mkbatch() {  # mkbatch KEY FILE_ID [METADATA]: sets BID
    bcall "$1" POST batches -H 'Content-Type: application/json' --data-binary \
        "{\"input_file_id\":\"$2\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\",\"metadata\":${3:-null}}"
    BID=$(jq -r .id "$T/body")
}
waitb() {  # waitb KEY BATCH_ID: polls (up to 5 s) until the batch has ended
    for _ in $(seq 100); do
        bcall "$1" GET "batches/$2"
        jq -e '.status | IN("completed","expired","failed","cancelled")' "$T/body" >/dev/null && return
        sleep 0.05
    done
}
content() { bcall k0 GET "files/$(jq -r ".$1" "$T/body")/content"; cp "$T/body" "$T/$2"; }
bctl() { check "batch control $1" test "$(ctl "$C" "{\"batch\":$1}")" = 200; }
# run N CONTROL [METADATA]: a batch of N lines under CONTROL, waited for; files in $T/out, $T/err
run() {
    bctl "$2"; mkin "$1" "$T/in.jsonl"; upload k0 "$T/in.jsonl"; mkbatch k0 "$FID" "${3:-null}"
    waitb k0 "$BID"; cp "$T/body" "$T/batch"; : >"$T/out"; : >"$T/err"
    jq -e '.output_file_id' "$T/batch" >/dev/null && content output_file_id out
    cp "$T/batch" "$T/body"; jq -e '.error_file_id' "$T/batch" >/dev/null && content error_file_id err
    cp "$T/batch" "$T/body"
}
start C SCEN_CLOCK_SCALE=100 -- --keys k0,k1 --rpm 2 --rpd 2
C=$(port_of C)
check "fake C started" test -n "$C"
mkin 20 "$T/in.jsonl"
upload k0 "$T/in.jsonl"
check "upload 200" test "$CODE" = 200
jqt "file object" '(.id | startswith("file_")) and .object == "file" and .purpose == "batch"
  and .filename == "in.jsonl" and (.created_at | type == "number")'
check "file bytes" test "$(jq .bytes "$T/body")" = "$(wc -c < "$T/in.jsonl")"
F1=$FID
bcall k0 GET "files/$F1/content"
check "input file content kept" cmp -s "$T/body" "$T/in.jsonl"
sed '3s/"r3"/"r1"/' "$T/in.jsonl" >"$T/bad.jsonl"; upload k0 "$T/bad.jsonl"
check "duplicate custom_id 400" test "$CODE" = 400
jqt "duplicate names the line" '.error.message | test("line 3: duplicate custom_id .r1.")'
sed '2s#/v1/chat/completions#/v1/embeddings#' "$T/in.jsonl" >"$T/bad.jsonl"; upload k0 "$T/bad.jsonl"
jqt "bad url names the line" '.error.message | test("line 2: .url.")'
printf '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}\n' >"$T/bad.jsonl"
upload k0 "$T/bad.jsonl"
jqt "bad body names the line" '.error.message | test("line 1: .messages.")'
bcall k0 POST files -F purpose=fine-tune -F "file=@$T/in.jsonl"
check "purpose must be batch" test "$CODE" = 400
upload wrong "$T/in.jsonl"
check "batch auth: wrong key 401" test "$CODE" = 401
jqt "batch 401 body" '.error.code == "invalid_api_key"'
bcall "" GET batches
check "batch auth: no key 401" test "$CODE" = 401
bcall k0 GET files/file_nope/content
check "unknown file 404" test "$CODE" = 404
mkbatch k0 file_nope
check "unknown input_file_id 400" test "$CODE" = 400

# a completed batch: validating -> in_progress -> completed, output lines are chat completions
bctl '{"delay_s":100}'
mkbatch k0 "$F1" '{"job":"j1"}'
check "create 200" test "$CODE" = 200
jqt "created batch" '(.id | startswith("batch_")) and .object == "batch" and .status == "validating"
  and .input_file_id == "'"$F1"'" and .endpoint == "/v1/chat/completions" and .completion_window == "24h"
  and .metadata == {"job":"j1"} and .request_counts == {"total":20,"completed":0,"failed":0}
  and .expires_at == .created_at + 86400 and .output_file_id == null and .completed_at == null'
B1=$BID
sleep 0.4
bcall k0 GET "batches/$B1"
jqt "in_progress after 40 virtual s" '.status == "in_progress" and .request_counts.completed < 20'
waitb k0 "$B1"
jqt "completed" '.status == "completed" and .request_counts == {"total":20,"completed":20,"failed":0}
  and .error_file_id == null and (.output_file_id | startswith("file_")) and .completed_at >= .created_at + 99'
content output_file_id out
check "output: 20 lines" test "$(wc -l < "$T/out")" = 20
check "output lines are chat completions" jqs 'length == 20
  and ([.[].custom_id] | sort) == ([range(1;21) | "r\(.)"] | sort)
  and all(.[]; (.id | startswith("batch_req_")) and .error == null and .response.status_code == 200
    and (.response.request_id | startswith("req_")) and .response.body.object == "chat.completion"
    and .response.body.model == "llama-3.1-8b-instant" and .response.body.choices[0].finish_reason == "stop"
    and (.response.body.choices[0].message.content | test("^Scenario #[0-9]+\\. Prompt [0-9]+\\.") and length >= 300)
    and .response.body.usage.total_tokens == .response.body.usage.prompt_tokens + .response.body.usage.completion_tokens)' "$T/out"
bcall k0 POST "batches/$B1/cancel"
check "cancel an ended batch 400" test "$CODE" = 400
mkbatch k0 "$F1" '{"job":"j1-again"}'
B1b=$BID

# expiry part-way: the answered lines in the output, the rest in the error file as batch_expired
run 20 '{"delay_s":0,"expire_after":0.25}'
jqt "expired" '.status == "expired" and .request_counts == {"total":20,"completed":5,"failed":15}
  and .expired_at != null and .completed_at == null and .expires_at == .created_at'
check "expired: 5 answered" jqs 'length == 5 and all(.[]; .response.status_code == 200)' "$T/out"
check "expired: 15 batch_expired" jqs 'length == 15 and all(.[]; .response == null
  and .error.code == "batch_expired") and ([.[].custom_id] | unique | length) == 15' "$T/err"

# error share and line modes: exact counts
run 20 '{"expire_after":null,"error_share":0.1,"line_modes":{"refuse":0.1,"length":0.05}}' '{"job":"j3"}'
jqt "error share counts" '.status == "completed" and .request_counts == {"total":20,"completed":18,"failed":2}'
check "error lines: 500 + error object" jqs 'length == 2 and all(.[]; .response.status_code == 500
  and .response.body.error.message != null and .error.code == "internal_server_error")' "$T/err"
check "refuse lines" test "$(jq -s '[.[] | select(.response.body.choices[0].message.content | test("cannot help"))] | length' "$T/out")" = 2
check "length lines" test "$(jq -s '[.[] | select(.response.body.choices[0].finish_reason == "length")] | length' "$T/out")" = 1
B3=$BID

# cancel mid-way; failed validation
bctl '{"delay_s":1000,"line_modes":{},"error_share":0}'
mkbatch k0 "$F1"
B4=$BID
sleep 0.3
bcall k0 POST "batches/$B4/cancel"
jqt "cancel -> cancelling" '.status == "cancelling" and .cancelling_at != null'
waitb k0 "$B4"
jqt "cancelled" '.status == "cancelled" and .request_counts.total == 20
  and .request_counts.completed + .request_counts.failed == 20 and .request_counts.failed > 0'
content error_file_id err
check "cancelled lines: batch_cancelled" jqs 'all(.[]; .error.code == "batch_cancelled")' "$T/err"
run 3 '{"delay_s":0,"fail":"model not found"}'
jqt "failed" '.status == "failed" and .errors.data[0].message == "model not found" and .output_file_id == null'
bctl '{"fail":null}'

# list: newest first, limit/after, metadata; per key
bcall k0 GET 'batches?limit=2'
jqt "list limit 2" '.object == "list" and (.data | length) == 2 and .has_more
  and .data[0].id == "'"$BID"'" and .data[1].id == "'"$B4"'" and .first_id == .data[0].id and .last_id == .data[1].id'
bcall k0 GET "batches?limit=100&after=$B4"
jqt "list after" '.data[0].id == "'"$B3"'" and .data[0].metadata == {"job":"j3"} and (.data | length) == 4
  and ([.data[].metadata.job] | index("j1")) != null and (.has_more | not)'
bcall k1 GET batches
jqt "list is per key" '.data == []'
bcall k1 GET "batches/$B1"
check "another key's batch 404" test "$CODE" = 404

# refused keys: 403 not_available_for_plan
bctl '{"refuse_keys":["1"]}'
upload k1 "$T/in.jsonl"
check "refused key: upload 403" test "$CODE" = 403
jqt "403 body" '.error.code == "not_available_for_plan" and .error.type == "invalid_request_error"'
bcall k1 GET batches
check "refused key: list 403" test "$CODE" = 403
bcall k0 GET batches
check "other key still allowed" test "$CODE" = 200
bctl '{"refuse_keys":true}'
bcall k0 GET "batches/$B1"
check "refuse_keys true: 403" test "$CODE" = 403
bctl '{"refuse_keys":false}'
check "bad batch control 400" test "$(ctl "$C" '{"batch":{"nope":1}}')" = 400
check "bad share 400" test "$(ctl "$C" '{"batch":{"error_share":0.9,"line_modes":{"refuse":0.2}}}')" = 400

# stats; batches never touched the online windows (rpm/rpd 2 on C)
curl -sS "http://127.0.0.1:$C/_stats" >"$T/body"
jqt "batch stats" '.batches.files_uploaded == 4 and .batches.created == 6 and .calls == 0 and .status == {}
  and .batches.by_input_file["'"$F1"'"] == 3 and ([.batches.by_input_file[]] | sort) == [1,1,1,3]
  and .batches.lines == {"ok":60,"error":2,"refuse":2,"length":1,"expired":15,"cancelled":20}
  and .batches.by_status.cancelled == 1 and .batches.by_status.failed == 1 and .mode.mode == "ok"'
call "$C" k0; call "$C" k0
check "online limits untouched by batches" test "$CODE $(hdr x-ratelimit-remaining-requests)" = "200 0"
curl -sS -XPOST "http://127.0.0.1:$C/_reset" >/dev/null
bcall k0 GET batches
jqt "reset forgets batches" '.data == []'

for n in A B C; do check "no output from fake $n" test ! -s "$T/$n.err"; [ -s "$T/$n.err" ] && cat "$T/$n.err" >&2; done
echo "fake-provider selftest: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
