#!/bin/bash
# appcore-sim on a pty, appcored on it through the real libserialport path
# (an LD_PRELOAD shim answers libserialport's sysfs and TIOCMGET calls for
# ptys); then SQL proves every sample of the ground truth is stored.
# usage: daemon_ingest.sh APPCORED APPCORE_SIM SHIM [SECONDS]
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
sim=$2
shim=$3
secs=${4:-${APPCORE_INGEST_SECONDS:-30}}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0

"$sim" --link pty --rate 1000 --counters 64 --duration "$secs" \
    --truth "$tmp/truth" --quiet > "$tmp/sim.out" &
simpid=$!
wait_line "$tmp/sim.out" 'link pty' 10
pty=$(awk '/link pty/{print $4}' "$tmp/sim.out")
echo "# $secs s at 1 kHz x 64 counters, $pty -> libserialport -> appcored"
LD_PRELOAD=$shim "$appcored" --state-dir "$tmp/state" --port "$pty" --listen 127.0.0.1:0 \
    --no-autodetect --user root -v > "$tmp/d.out" 2>&1 &
dpid=$!
wait $simpid
check "simulator finished" [ $? -eq 0 ]
wait_line "$tmp/d.out" 'link down' 10
kill -TERM $dpid
wait $dpid
check "appcored stopped cleanly on SIGTERM" [ $? -eq 0 ]
grep -q 'new boot' "$tmp/d.out"
check "appcored saw the board's HELLO through libserialport" [ $? -eq 0 ]
grep -E 'warning|fatal|ERROR' "$tmp/d.out" | sed 's/^/# /'
python3 "$here/check_db.py" "$tmp/state/appcore.db" sim-0 "$tmp/truth" \
    --no-loss-events | commented
check "database matches the ground truth (check_db.py above)" \
    [ ${PIPESTATUS[0]} -eq 0 ]
check "the link loss at the end is an event" \
    [ "$(sqlite3 "$tmp/state/appcore.db" "SELECT count(*) FROM events WHERE kind = 'link-down'")" -ge 1 ]
check "logs of core 1 stored" \
    [ "$(sqlite3 "$tmp/state/appcore.db" "SELECT count(*) FROM logs WHERE text LIKE 'core1 up%'")" -eq 1 ]
finish
