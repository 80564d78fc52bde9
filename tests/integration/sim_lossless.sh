#!/bin/bash
# appcore-sim at 1 kHz with 64 counters for minutes on a pty: every sample
# the simulator produced (its ground-truth log) reaches the host, exactly.
# usage: sim_lossless.sh APPCORE_SIM APPCORE_DECODE [SECONDS]
set -u
. "$(dirname "$0")/lib.sh"
sim=$1
decode=$2
secs=${3:-${APPCORE_LOSSLESS_SECONDS:-120}}
tmp=$(mktemp -d)
trap 'kill $simpid 2>/dev/null; rm -rf "$tmp"' EXIT

"$sim" --link pty --rate 1000 --counters 64 --duration "$secs" \
    --truth "$tmp/truth" --quiet > "$tmp/sim.out" 2> "$tmp/sim.err" &
simpid=$!
wait_line "$tmp/sim.out" 'link pty' 10 || { cat "$tmp/sim.err"; nok "sim started"; finish; exit 1; }
pty=$(awk '/link pty/{print $4}' "$tmp/sim.out")
echo "# $secs s at 1 kHz x 64 counters on $pty"
"$decode" --quiet --samples "$tmp/got" "$pty" > "$tmp/dec.out" 2> "$tmp/dec.err"
wait $simpid
simrc=$?
cat "$tmp/dec.out" | sed 's/^/# /'
check "appcore-sim exited cleanly" [ $simrc -eq 0 ]
sum=$(grep '^summary:' "$tmp/dec.out")
agent=$(grep '^agent:' "$tmp/dec.out")
for k in crc_errors framing_errors seq_gaps frames_lost samples_lost malformed; do
	check "host saw $k = 0" [ "$(field $k "$sum")" = 0 ]
done
check "agent dropped no sample" [ "$(field samples_dropped "$agent")" = 0 ]
check "agent dropped no frame" [ "$(field frames_dropped "$agent")" = 0 ]
truth_n=$(wc -l < "$tmp/truth")
got_n=$(wc -l < "$tmp/got")
min=$((secs * 1000 * 95 / 100))
check "simulator produced $truth_n samples (>= $min)" [ "$truth_n" -ge "$min" ]
check "host received all $got_n of $truth_n samples" [ "$got_n" -eq "$truth_n" ]
check "received samples equal the ground truth, byte for byte" cmp -s "$tmp/truth" "$tmp/got"
check "agent reported producing what the truth log holds" [ "$(field samples "$agent")" = "$truth_n" ]
echo "# sampler overruns (core 0 late by a whole period): $(field sampler_overruns "$agent")"
echo "# wire bytes $(field bytes "$sum") for $((truth_n * 64)) counter-samples"
finish
