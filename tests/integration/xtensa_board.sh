#!/bin/bash
# The emulated board (docs/emulated-board.md): appcore-sim --core1 xtensa
# runs the agent and the core-1 demo as Xtensa code on two CPUs under
# QEMU, on a pty; appcored reads it through libserialport.  The ground
# truth is what the agent on the guest sampled, written by the guest
# itself: every stored sample equals it, none is lost once the host is
# there, and the boot's accounting is exact.
# usage: xtensa_board.sh APPCORED APPCORE_SIM SHIM [SECONDS]
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
sim=$2
shim=$3
secs=${4:-20}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0

"$sim" --core1 xtensa --link pty --rate 1000 --counters 64 \
    --duration "$secs" --device-id xt-board --truth "$tmp/truth" --quiet \
    > "$tmp/sim.out" 2> "$tmp/sim.err" &
simpid=$!
wait_line "$tmp/sim.out" 'link pty' 10
pty=$(awk '/link pty/{print $4}' "$tmp/sim.out")
echo "# $secs s at 1 kHz x 64 counters from Xtensa code under QEMU, $pty -> appcored"
LD_PRELOAD=$shim "$appcored" --state-dir "$tmp/state" --port "$pty" \
    --listen 127.0.0.1:0 --no-autodetect --user root -v > "$tmp/d.out" 2>&1 &
dpid=$!
wait $simpid
check "appcore-sim and QEMU finished" [ $? -eq 0 ]
wait_line "$tmp/d.out" 'link down' 10
kill -TERM $dpid
wait $dpid
check "appcored stopped cleanly on SIGTERM" [ $? -eq 0 ]
grep -q 'new boot' "$tmp/d.out"
check "appcored saw the Xtensa agent's HELLO" [ $? -eq 0 ]
check "the guest wrote its ground truth ($(wc -l < "$tmp/truth") samples)" \
    [ "$(wc -l < "$tmp/truth")" -gt $((secs * 500)) ]
python3 "$here/check_db.py" "$tmp/state/appcore.db" xt-board "$tmp/truth" \
    --subset --lossless-after-first --accounting | commented
check "the database matches the guest's ground truth (check_db.py above)" \
    [ ${PIPESTATUS[0]} -eq 0 ]
check "core 1's log line from Xtensa code is stored" \
    [ "$(sqlite3 "$tmp/state/appcore.db" "SELECT count(*) FROM logs WHERE text LIKE 'core1 up (xtensa)%'")" -eq 1 ]
finish
