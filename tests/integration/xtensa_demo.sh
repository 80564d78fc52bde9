#!/bin/bash
# appcored --demo with the emulated board (--sim-args "--core1 xtensa"):
# the board the API and the dashboard show runs as Xtensa code under
# QEMU; its core-1 program's SEGGER RTT lines, written by Xtensa code and
# found and streamed by the Xtensa agent, are log lines of "rtt0 Terminal";
# a clean stop stops QEMU too.
# usage: xtensa_demo.sh APPCORED
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
tmp=$(mktemp -d)
id=xtd-$$		# this run's board, told apart from others' QEMU
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$tmp"' EXIT

"$appcored" --demo --state-dir "$tmp/state" --user root --listen 127.0.0.1:0 \
    --sim-args "--core1 xtensa --counters 8 --rate 100 --device-id $id" \
    > "$tmp/out" 2> "$tmp/err" &
dpid=$!
wait_line "$tmp/out" 'dashboard on' 20
url=$(awk '/dashboard on/{print $4}' "$tmp/out")
qemu_running() { pgrep -f "qemu-system-xtensa.*device=$id," >/dev/null; }
check "the demo started QEMU on the board's Xtensa program" qemu_running
samples() {
	curl -s "${url}api/v1/query?sql=SELECT%20count(*)%20FROM%20samples" |
	    sed -n 's/.*"rows":\[\[\([0-9]*\)\]\].*/\1/p'
}
i=0
while [ "$(samples)" = "" ] || [ "$(samples)" -lt 400 ]; do
	i=$((i + 1)); [ $i -gt 150 ] && break; sleep 0.1
done
dev=$(curl -s "${url}api/v1/devices")
echo "$dev" | grep -q '"name":"'$id'","key":"[0-9a-f]*","connected":true'
check "the API shows the board connected: $(echo "$dev" | cut -c1-120)" [ $? -eq 0 ]
echo "$dev" | grep -q '"state":"running"'
check "core 1 runs (state running)" [ $? -eq 0 ]
check "its samples are stored ($(samples))" [ "$(samples)" -ge 400 ]
rtt_lines() {
	curl -s "${url}api/v1/devices/1/logs?limit=100" | python3 -c '
import json, sys
for x in reversed(json.load(sys.stdin)["logs"]):
    if x["channel"] == "rtt0 Terminal":
        print(x["text"])'
}
i=0
while [ "$(rtt_lines | wc -l)" -lt 3 ] && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.1
done
rtt=$(rtt_lines | head -3 | tr '\n' '|')
check "RTT from the Xtensa core 1, found and streamed by the Xtensa agent: $rtt" \
    [ "$rtt" = "core1 rtt: block 1000|core1 rtt: block 2000|core1 rtt: block 3000|" ]
curl -s "${url}api/v1/devices/1/events?limit=100" | grep -q '"kind":"rtt-found"'
check "an rtt-found event" [ $? -eq 0 ]
kill -TERM $dpid
wait $dpid
check "appcored stopped cleanly" [ $? -eq 0 ]
i=0
while qemu_running && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
qemu_gone() { ! qemu_running; }
check "and QEMU with it" qemu_gone
finish
