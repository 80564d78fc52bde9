#!/bin/bash
# Samples lost per sample in a damaged frame, on a noisy link (a bit
# error rate of 1e-5 through tests/integration/frame_proxy.py), 1 kHz x 64
# counters.  Baseline in the same invocation: the same agent answering
# samples-ref as an older agent would (--no-samples-ref), so that the host
# has to wait for the next key frame after a lost frame.  Counted against
# the simulator's ground truth (check_db.py), from the first sample stored.
#   bench/link_loss.sh BUILD_DIR [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bdir=$1
secs=${2:-${APPCORE_BENCH_SECONDS:-60}}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

wait_for() { # wait_for FILE PATTERN
	for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done
	echo "bench: no '$2' in $1" >&2
	exit 1
}

one() { # one NAME SIM_ARGS...: prints "damaged_frames damaged_samples lost"
	local name=$1 d=$tmp/$1
	shift
	mkdir -p "$d"
	"$bdir/firmware-agent/port/posix/appcore-sim" --link tcp:0 --rate 1000 \
	    --counters 64 --duration "$secs" --truth "$d/t" --quiet "$@" > "$d/sim" &
	local simpid=$!
	wait_for "$d/sim" 'link tcp'
	local port
	port=$(awk '/link tcp/{print $4}' "$d/sim" | cut -d: -f2)
	python3 tests/integration/frame_proxy.py 0 "$port" ber:1e-5 --seed 5 > "$d/proxy" &
	wait_for "$d/proxy" listening
	local pport
	pport=$(awk '/listening/{print $3}' "$d/proxy")
	"$bdir/daemon/appcored" --state-dir "$d/state" --no-autodetect --user root \
	    --snapshot-interval 0 --listen 127.0.0.1:0 \
	    --port "tcp://127.0.0.1:$pport" > "$d/daemon" 2>&1 &
	local dpid=$!
	wait $simpid
	wait_for "$d/proxy" 'proxy: frames'
	sleep 0.5
	kill -TERM $dpid
	wait $dpid
	python3 tests/integration/check_db.py "$d/state/appcore.db" sim-0 "$d/t" \
	    --subset > "$d/check" || { cat "$d/check" >&2; exit 1; }
	echo "$(awk '/^proxy: frames/{print $13}' "$d/proxy")" \
	    "$(awk '/^proxy: frames/{print $15}' "$d/proxy")" \
	    "$(awk '/lost after the first stored sample/{print $NF}' "$d/check")"
}

echo "== Samples lost per damaged sample, bit error rate 1e-5, 1 kHz x 64, $secs s"
read -r af as al < <(one refs)
read -r bf bs bl < <(one keyframes --no-samples-ref)
printf '%-34s %10s %14s %10s %8s\n' "" "damaged" "their samples" "lost" "ratio"
printf '%-34s %10s %14s %10s %8.2f\n' "appcore (SAMPLES_REF)" "$af" "$as" "$al" \
    "$(echo "$al / $as" | bc -l)"
printf '%-34s %10s %14s %10s %8.2f\n' "baseline: wait for a key frame" "$bf" "$bs" "$bl" \
    "$(echo "$bl / $bs" | bc -l)"
echo "(ratio: samples lost / samples the damaged frames carried; target <= 1.5)"
