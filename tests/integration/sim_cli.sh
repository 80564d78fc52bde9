#!/bin/bash
# appcore-sim's interface: options, TCP link, injected faults as the host
# sees them, and clear errors for bad arguments.
# usage: sim_cli.sh APPCORE_SIM APPCORE_DECODE
set -u
. "$(dirname "$0")/lib.sh"
sim=$1
decode=$2
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

help=$("$sim" --help)
for opt in --link --rate --counters --panic-after --hang-after \
    --corrupt-after --truth --duration --device-id --image --help; do
	check "--help lists $opt" grep -q -- "$opt" <<<"$help"
done
check "--version" bash -c "'$sim' --version | grep -q 'appcore-sim 0\.'"
for bad in "--rate 0" "--rate 1001" "--counters 129" "--counters x" \
    "--link serial" "--panic-after -1" "--device-id 12345678901234567" \
    "--bogus" "extra"; do
	"$sim" $bad > /dev/null 2> "$tmp/err"
	rc=$?
	check "'$bad' is refused with exit 2 and a message ($(head -c 60 "$tmp/err" | tr '\n' ' '))" \
	    [ $rc -eq 2 -a -s "$tmp/err" ]
done

# TCP link, a panic, and the host's view of it.
"$sim" --link tcp:0 --rate 200 --counters 8 --duration 4 --panic-after 2 \
    --device-id bench-7 --truth "$tmp/truth" > "$tmp/sim.out" &
simpid=$!
wait_line "$tmp/sim.out" 'link tcp' 10
addr=$(awk '/link tcp/{print $4}' "$tmp/sim.out")
check "TCP link on loopback ($addr)" grep -q '^127\.0\.0\.1:[0-9]*$' <<<"$addr"
"$decode" --print --samples "$tmp/got" "tcp:$addr" > "$tmp/dec.out"
wait $simpid
check "HELLO names the device and rate" grep -q 'HELLO device bench-7 .* rate 200 Hz counters 8 core1 running' "$tmp/dec.out"
check "descriptors of the workload" grep -q 'DESC   0 audio.frames .*frames .*counter' "$tmp/dec.out"
check "panic seen as STATE running -> panicked" grep -q 'STATE .* running -> panicked' "$tmp/dec.out"
check "panic record seen as CRASH with file:line and backtrace" \
    grep -q 'CRASH .*pc 0x42002a31 .*dsp/mixer.c:217 "assert failed: fill <= BUF_FRAMES" bt 0x42002a1c' "$tmp/dec.out"
check "core-1 log line delivered" grep -q 'LOG .* E #[0-9]* panic: assert failed' "$tmp/dec.out"
first=$(head -1 "$tmp/got" | cut -d' ' -f1)
check "TCP: samples from the first key frame on equal the truth" \
    cmp -s <(awk -v f="$first" '$1 >= f' "$tmp/truth") "$tmp/got"
sum=$(grep '^summary:' "$tmp/dec.out")
check "TCP: no loss after attaching" [ "$(field samples_lost "$sum")" = 0 -a "$(field seq_gaps "$sum")" = 0 ]

# A hang: heartbeat stops, the agent says hung after the timeout.
"$sim" --link tcp:0 --rate 100 --duration 3 --hang-after 1 \
    --hang-timeout 500 > "$tmp/sim2.out" &
simpid=$!
wait_line "$tmp/sim2.out" 'link tcp' 10
addr=$(awk '/link tcp/{print $4}' "$tmp/sim2.out")
"$decode" --print "tcp:$addr" > "$tmp/dec2.out"
wait $simpid
check "hang seen as STATE running -> hung after >= 500 ms of silence" \
    bash -c "grep 'running -> hung' '$tmp/dec2.out' | awk '{exit !(\$NF >= 500)}'"
check "the hang's last log line arrives" grep -q 'waiting for codec ready' "$tmp/dec2.out"

# Memory corruption of the region header.
"$sim" --link tcp:0 --rate 100 --duration 2.5 --corrupt-after 1 > "$tmp/sim3.out" &
simpid=$!
wait_line "$tmp/sim3.out" 'link tcp' 10
addr=$(awk '/link tcp/{print $4}' "$tmp/sim3.out")
"$decode" --print "tcp:$addr" > "$tmp/dec3.out"
wait $simpid
check "scribbled header seen as STATE -> corrupt" grep -q 'running -> corrupt' "$tmp/dec3.out"

# --image: the core-1 image hash is the file's SHA-256.
printf 'core1 image' > "$tmp/img"
"$sim" --link tcp:0 --duration 1.5 --image "$tmp/img" > "$tmp/sim4.out" &
simpid=$!
wait_line "$tmp/sim4.out" 'link tcp' 10
addr=$(awk '/link tcp/{print $4}' "$tmp/sim4.out")
"$decode" --print "tcp:$addr" > "$tmp/dec4.out"
wait $simpid
want=$(sha256sum "$tmp/img" | cut -d' ' -f1)
check "HELLO carries the image's SHA-256" grep -q "image $want" "$tmp/dec4.out"
"$sim" --image /nonexistent --duration 1 > /dev/null 2> "$tmp/err"
rc=$?
check "--image of a missing file: exit 1, says why" \
    bash -c "[ $rc -eq 1 ] && grep -q 'No such file' '$tmp/err'"
finish
