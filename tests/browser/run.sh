#!/bin/bash
# The dashboard in Debian's Chromium through playwright-core, four times:
#   dashboard.mjs  appcored --demo (1 kHz x 16, a panic 14 s in), 1400 and
#                  360 px: axes, zone, controls, crash, deep links
#   token.mjs      a demo listening beyond loopback: the token, and an ELF
#                  uploaded for a crash of an unregistered image
#   outage.mjs     appcored with appcore-sim on TCP (64 counters) that
#                  stops and comes back
#   emulated.mjs   the demo on the emulated board: a real CPU exception
#   update.mjs     the demo with image slots (--slots): core-1 updates
#                  from the page, checked against the slot record
#   rust.mjs       the demo with the Rust core 1 (--core1 rust): its
#                  panic, RTT channels and counters (when built with cargo)
# Screenshots go to OUTDIR (kept as test artefacts).  One TAP stream.
# usage: run.sh APPCORED APPCORE_SIM OUTDIR
set -u
appcored=$1
sim=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
mkdir -p "$out"
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
rc=0

# start_daemon NAME ARGS...: appcored in $tmp/NAME; sets url.
start_daemon() {
	name=$1
	shift
	"$appcored" --state-dir "$tmp/$name" --user root "$@" \
	    > "$tmp/$name.out" 2> "$tmp/$name.err" &
	dpid=$!
	for _ in $(seq 100); do
		grep -q 'dashboard on' "$tmp/$name.out" && break
		sleep 0.1
	done
	url=$(awk '/dashboard on/{print $4}' "$tmp/$name.out")
}

stop_daemon() {
	kill -TERM $dpid
	wait $dpid
}

# run NAME SCRIPT ARGS...: one script's TAP into $tmp/NAME.tap.
run() {
	name=$1
	shift
	node "$here/$1" "${@:2}" > "$tmp/$name.tap" 2> "$tmp/$name.stderr" ||
	    { rc=1; sed 's/^/# /' "$tmp/$name.stderr" "$tmp/$name.err" >> "$tmp/$name.tap"; }
}

start_daemon demo --demo --listen 127.0.0.1:0 \
    --sim-args "--rate 1000 --counters 16 --panic-after 14"
run demo dashboard.mjs "$url" "$out" "$tmp/demo/api-token"
stop_daemon

# Beyond loopback, reads need the token; the image is one built here,
# which the demo does not register: the page uploads it.
src=$(cd "$here/../../firmware-agent/port/posix" && pwd)
cc_image() { # cc_image OUT [CFLAGS...]
	xtensa-lx106-elf-gcc -g -ffunction-sections -ffreestanding -nostdlib \
	    -mtext-section-literals -T "$src/core1_image.ld" "${@:2}" \
	    "$src/core1_image.c" -o "$1"
}
cc_image "$tmp/core1.elf" || exit 1
cc_image "$tmp/other.elf" -Dsink=sink2 || exit 1
start_daemon token --demo --listen 0.0.0.0:0 \
    --sim-args "--rate 200 --counters 4 --panic-after 6 --image $tmp/core1.elf"
port=$(sed -n 's|.*dashboard on http://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/token.out")
run token token.mjs "http://127.0.0.1:$port/" "$tmp/token/api-token" \
    "$tmp/core1.elf" "$tmp/other.elf"
stop_daemon

# A board on TCP that goes away after 8 s and comes back.
"$sim" --quiet --link tcp:0 --rate 200 --counters 64 --duration 8 \
    > "$tmp/sim.out" &
for _ in $(seq 50); do grep -q 'link ' "$tmp/sim.out" && break; sleep 0.1; done
simport=$(awk '/link tcp/{print $4}' "$tmp/sim.out" | cut -d: -f2)
start_daemon outage --no-autodetect --listen 127.0.0.1:0 \
    --port "tcp://127.0.0.1:$simport"
run outage outage.mjs "$url" "$out" "$sim" "$simport"
stop_daemon

start_daemon emulated --demo --listen 127.0.0.1:0 \
    --sim-args "--core1 xtensa --rate 100 --panic-after 3 --fault unaligned"
run emulated emulated.mjs "$url" "$out"
stop_daemon

mkimage=$here/../../firmware-agent/tools/core1_image.py
python3 "$mkimage" --sim ok "$tmp/ok.bin" --size 60000 > /dev/null
python3 "$mkimage" --sim panic "$tmp/panic.bin" --size 20000 > /dev/null
mkdir -p "$tmp/slots"
start_daemon update --demo --listen 127.0.0.1:0 \
    --sim-args "--rate 100 --counters 8 --slots $tmp/slots"
run update update.mjs "$url" "$out" "$tmp/update/api-token" "$tmp/slots" \
    "$tmp/ok.bin" "$tmp/panic.bin"
stop_daemon

touch "$tmp/rust.tap"
if "$sim" --core1 rust --help > /dev/null 2>&1; then
	start_daemon rust --demo --listen 127.0.0.1:0 \
	    --sim-args "--core1 rust --rate 200 --counters 16 --panic-after 5"
	run rust rust.mjs "$url" "$out" \
	    "$here/../../firmware-agent/rust/appcore-core1-host/src/workload.rs"
	stop_daemon
fi

cat "$tmp/demo.tap" "$tmp/token.tap" "$tmp/outage.tap" "$tmp/emulated.tap" \
    "$tmp/update.tap" "$tmp/rust.tap" | awk '
    /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n); print; next }
    /^1\.\.[0-9]+$/ { next }
    { print }
    END { print "1.." n }'
exit $rc
