#!/bin/bash
# appcored lets go of a port for flashing (appcorectl port release), and
# takes it back: the link closes at once with an event naming who asked,
# it is not opened again before the hold ends (the link-up comes after
# it, by the daemon's own event times), and port reclaim ends a long hold
# at once.  The board is appcore-sim on TCP, which accepts the daemon
# again after each close.  TAP output.
# usage: port_release.sh APPCORED APPCORE_SIM APPCORECTL
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
sim=$2
ctl=$3
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$sim" --quiet --link tcp:0 --rate 100 --counters 4 --duration 120 > "$tmp/sim" &
wait_line "$tmp/sim" 'link ' 10
port=tcp://127.0.0.1:$(awk '/link tcp/{print $4}' "$tmp/sim" | cut -d: -f2)
"$appcored" --state-dir "$tmp/state" --user root --no-autodetect \
    --listen 127.0.0.1:0 --socket "$tmp/sock" --port "$port" > "$tmp/d" 2>&1 &
dpid=$!
wait_line "$tmp/d" 'dashboard on' 20
export APPCORE_SOCKET=$tmp/sock APPCORE_TOKEN_FILE=$tmp/state/api-token
db=$tmp/state/appcore.db
q() { sqlite3 "$db" "$1"; }
# events KIND: how many, committed
events() { q "SELECT count(*) FROM events WHERE kind = '$1'"; }
wait_for() { # wait_for SECONDS COMMAND...: until it succeeds
	local end=$((SECONDS + $1))
	shift
	until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
ups() { [ "$(events link-up)" -ge "$1" ]; }

check "the board is up" wait_for 20 ups 1
check "port release: said" \
    eval '"$ctl" port release "$port" 3 > "$tmp/o" && grep -q "lets go of it for 3 s" "$tmp/o"'
check "the link closes at once, as a released port" \
    wait_for 5 eval '[ "$(events link-down)" -ge 1 ] && [ "$(events port-released)" -eq 1 ]'
detail=$(q "SELECT detail FROM events WHERE kind = 'port-released'")
check "the event says for how long and who asked: $detail" \
    eval '[[ "$detail" == "let go of for 3 s (flashing), asked by the unix socket"* ]]'
check "it comes back after the hold" wait_for 20 ups 2
gap=$(q "SELECT (SELECT max(t) FROM events WHERE kind = 'link-up') - (SELECT t FROM events WHERE kind = 'port-released')")
check "not before the hold ended: up again $gap us after the release" [ "$gap" -ge 3000000 ]

check "a long release, then reclaim" \
    eval '"$ctl" port release "$port" 600 >/dev/null && wait_for 5 eval "[ \"\$(events port-released)\" -eq 2 ]" &&
    "$ctl" port reclaim "$port" > "$tmp/o" && grep -q "may open it again" "$tmp/o"'
check "reclaim opens it again at once, not 600 s later" wait_for 20 ups 3
gap=$(q "SELECT (SELECT max(t) FROM events WHERE kind = 'link-up') - (SELECT max(t) FROM events WHERE kind = 'port-released')")
check "up again $gap us after the release" [ "$gap" -lt 60000000 ]

unboarded() {
	[ "$(q "SELECT count(*) FROM events WHERE kind = 'port-released' AND device_id IS NULL AND detail = '/dev/ttyACM9'")" -eq 1 ]
}
check "a port not seen yet can be held (an event without a board)" \
    eval '"$ctl" port release /dev/ttyACM9 >/dev/null && wait_for 5 unboarded'
check "seconds out of range: usage, exit 2" eval '"$ctl" port release "$port" 0 2>/dev/null; [ $? -eq 2 ]'
url=$(grep -o 'http://[^/]*' "$tmp/d")
check "without the token: 401" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"port":"x"}' "$url/api/v1/ports/release")" = 401 ]
tok=$(cat "$tmp/state/api-token")
for body in '{}' '{"port":""}' '{"port":"x","seconds":0}' '{"port":"x","seconds":"5"}' 'nope'; do
	check "a bad body ($body): 400" \
	    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" \
	    -d "$body" "$url/api/v1/ports/release")" = 400 ]
done
kill -TERM $dpid
wait $dpid
check "appcored stopped cleanly" [ $? -eq 0 ]
finish
