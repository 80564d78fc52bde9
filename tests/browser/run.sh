#!/bin/bash
# Starts appcored --demo (the simulator panics after 14 s, running a
# core-1 image built here), and drives the
# dashboard in Debian's Chromium through playwright-core.  Screenshots go
# to OUTDIR (kept as test artefacts).
# usage: run.sh APPCORED OUTDIR
set -u
appcored=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $dpid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
# The simulated core 1 runs an image built here for Xtensa; the test
# uploads its ELF through the crash page, which then names the backtrace.
src=$(cd "$here/../xtensa" && pwd)
xtensa-lx106-elf-gcc -g -ffunction-sections -ffreestanding -nostdlib \
    -mtext-section-literals -T "$src/core1_image.ld" "$src/core1_image.c" \
    -o "$tmp/core1.elf" || exit 1
"$appcored" --demo --state-dir "$tmp/state" --user root --listen 127.0.0.1:0 \
    --sim-args "--rate 1000 --counters 16 --panic-after 14 --image $tmp/core1.elf" \
    > "$tmp/out" 2> "$tmp/err" &
dpid=$!
for _ in $(seq 50); do grep -q 'dashboard on' "$tmp/out" && break; sleep 0.1; done
url=$(awk '/dashboard on/{print $4}' "$tmp/out")
# A wrong ELF (another build) for the page to refuse first.
xtensa-lx106-elf-gcc -g -ffunction-sections -ffreestanding -nostdlib \
    -mtext-section-literals -T "$src/core1_image.ld" -Dsink=sink2 \
    "$src/core1_image.c" -o "$tmp/other.elf" || exit 1
node "$here/dashboard.mjs" "$url" "$out" "$tmp/state/api-token" \
    "$tmp/core1.elf" "$tmp/other.elf" > "$tmp/tap1"
rc=$?
kill -TERM $dpid
wait $dpid
# Beyond loopback, reads need the token: the page asks for it.
"$appcored" --demo --state-dir "$tmp/state2" --user root --listen 0.0.0.0:0 \
    --sim-args "--rate 200 --counters 4" > "$tmp/out2" 2> "$tmp/err2" &
dpid=$!
for _ in $(seq 50); do grep -q 'dashboard on' "$tmp/out2" && break; sleep 0.1; done
port=$(sed -n 's|.*dashboard on http://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/out2")
node "$here/token.mjs" "http://127.0.0.1:$port/" "$tmp/state2/api-token" \
    > "$tmp/tap2"
rc2=$?
kill -TERM $dpid
wait $dpid
# One TAP stream: the two scripts' checks numbered on.
cat "$tmp/tap1" "$tmp/tap2" | awk '
    /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n); print; next }
    /^1\.\.[0-9]+$/ { next }
    { print }
    END { print "1.." n }'
[ $rc -eq 0 ] && [ $rc2 -eq 0 ]
