#!/bin/bash
# Starts appcored --demo (the simulator panics after 14 s) and drives the
# dashboard in Debian's Chromium through playwright-core.  Screenshots go
# to OUTDIR (kept as test artefacts).
# usage: run.sh APPCORED OUTDIR
set -u
appcored=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $dpid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
"$appcored" --demo --state-dir "$tmp/state" --user root --listen 127.0.0.1:0 \
    --sim-args "--rate 1000 --counters 16 --panic-after 14" > "$tmp/out" 2> "$tmp/err" &
dpid=$!
for _ in $(seq 50); do grep -q 'dashboard on' "$tmp/out" && break; sleep 0.1; done
url=$(awk '/dashboard on/{print $4}' "$tmp/out")
node "$here/dashboard.mjs" "$url" "$out"
rc=$?
kill -TERM $dpid
wait $dpid
exit $rc
