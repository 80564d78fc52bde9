#!/bin/bash
# A crash that happened while no daemon ran is delivered when one starts,
# with the time core 1 crashed; a daemon restarted later (which says
# hello again, so the agent sends the panic record again) keeps one crash
# per core-1 run.  The simulator on TCP, the real daemon, appcorectl.
# TAP output.
#
# usage: crash_offline.sh APPCORED APPCORE_SIM APPCORECTL
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
sim=$2
ctl=$3
tmp=$(mktemp -d)
dpid=
trap 'kill $dpid $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$sim" --link tcp:0 --rate 100 --counters 8 --panic-after 1 --duration 120 \
    > "$tmp/sim.out" 2>&1 &
spid=$!
wait_line "$tmp/sim.out" "link tcp" 10 || { nok "the simulator starts"; finish; exit; }
addr=$(grep -o '127.0.0.1:[0-9]*' "$tmp/sim.out" | head -1)
sleep 3				# core 1 panics 1 s in, with no host there
start_us=$(date +%s%6N)

daemon() {
	"$appcored" --state-dir "$tmp/state" --user root --no-autodetect \
	    --listen 127.0.0.1:0 --socket "$tmp/appcored.sock" \
	    --port "tcp://$addr" >> "$tmp/d.out" 2>> "$tmp/d.err" &
	dpid=$!
}
export APPCORE_SOCKET=$tmp/appcored.sock
crashes() { "$ctl" --json crash list 2>/dev/null; }
count() { crashes | python3 -c "import json,sys; print(len(json.load(sys.stdin)['crashes']))" 2>/dev/null || echo 0; }

daemon
for _ in $(seq 100); do [ "$(count)" -ge 1 ] && break; sleep 0.1; done
check "the crash that happened before the daemon started is delivered" \
    [ "$(count)" -eq 1 ]
check "with the time core 1 crashed, before the daemon started" \
    python3 -c "
import json,sys; c=json.load(open(sys.argv[1]))['crashes'][0]
assert c['reason']=='assert' and c['file']=='dsp/mixer.c', c
assert c['t'] < int(sys.argv[2]) - 1000000, (c['t'], sys.argv[2])" <(crashes) "$start_us"
for _ in $(seq 50); do
	"$ctl" crash get 1 --format raw -o "$tmp/dump.bin" >/dev/null 2>&1 && break
	sleep 0.2
done
check "its dump is the region core 1 left: state panicked" \
    python3 -c "
import sys; b=open(sys.argv[1],'rb').read()
assert len(b)==131072 and b[:4]==b'AC1R' and b[64]==3" "$tmp/dump.bin"
check "one crash event" \
    [ "$("$ctl" events --limit 100 | grep -c ' crash ')" -eq 1 ]

kill -TERM $dpid
wait $dpid
daemon
wait_line "$tmp/d.err" "new boot\|boot .* again\|hello" 10
sleep 3				# hello, the panic record again, a commit
check "a restarted daemon keeps one crash for the core-1 run" \
    [ "$(count)" -eq 1 ]
check "and one crash event" \
    [ "$("$ctl" events --limit 100 | grep -c ' crash ')" -eq 1 ]
check "no event is stamped 1970 (link-down at shutdown)" \
    eval '! "$ctl" events --limit 100 | grep -q "^1970"'
kill -TERM $dpid
wait $dpid

# A hang: the agent stalls core 1 and reports its last PC/SP (in the
# simulator, where its core 1 waits in "codec_wait_ready").
"$appcored" --demo --state-dir "$tmp/state-hang" --user root \
    --listen 127.0.0.1:0 --socket "$tmp/hang.sock" \
    --sim-args "--rate 100 --counters 8 --hang-after 1 --duration 60" \
    > "$tmp/h.out" 2> "$tmp/h.err" &
dpid=$!
export APPCORE_SOCKET=$tmp/hang.sock
for _ in $(seq 100); do [ "$(count)" -ge 1 ] && break; sleep 0.1; done
check "an injected hang yields a hang crash with core 1's last PC and SP" \
    python3 -c "
import json,sys; c=json.load(open(sys.argv[1]))['crashes'][0]
assert c['kind']=='hang' and c['reason']=='hang', c
assert c['pc']==0x42003a10 and c['sp']==0x3fcc9710+0x20000-0x220, c
assert c['message'].startswith('heartbeat silent ') and 'stalled' in c['message'], c" <(crashes)
check "its report shows running -> hung" \
    eval '"$ctl" crash show 1 | grep -q "running -> hung"'
finish
