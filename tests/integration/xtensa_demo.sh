#!/bin/bash
# appcored --demo with the emulated board (--sim-args "--core1 xtensa"):
# the board the API and the dashboard show runs as Xtensa code under
# QEMU; a clean stop stops QEMU too.
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
kill -TERM $dpid
wait $dpid
check "appcored stopped cleanly" [ $? -eq 0 ]
i=0
while qemu_running && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
qemu_gone() { ! qemu_running; }
check "and QEMU with it" qemu_gone
finish
