#!/bin/bash
# The HTTP side under load, each figure next to a baseline of the same run:
# requests/s of the live-state endpoint vs nginx serving a file of the same
# size; change-to-browser latency of the live stream at 100 Hz; 200 stream
# clients attached while 64 counters at 1 kHz are ingested.
# usage: bench/web.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$tmp"' EXIT

start_demo() { # start_demo NAME SIM_ARGS
	"$build/daemon/appcored" --demo --state-dir "$tmp/$1" --user root \
	    --listen 127.0.0.1:0 --sim-args "$2" > "$tmp/$1.out" 2> "$tmp/$1.err" &
	dpid=$!
	for _ in $(seq 50); do grep -q 'dashboard on' "$tmp/$1.out" && break; sleep 0.1; done
	url=$(awk '/dashboard on/{print $4}' "$tmp/$1.out")
	port=$(echo "$url" | sed 's|.*:\([0-9]*\)/|\1|')
	sleep 2
}

echo "== Requests per second: GET /api/v1/devices/1 vs nginx, same size"
start_demo a "--rate 100 --counters 16"
curl -s "${url}api/v1/devices/1" > "$tmp/body.json"
size=$(stat -c %s "$tmp/body.json")
mkdir -p "$tmp/www"
cp "$tmp/body.json" "$tmp/www/live.json"
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 256; }
http {
	access_log off;
	server { listen 127.0.0.1:$nport; root $tmp/www; }
}
NGX
nginx -c "$tmp/nginx.conf" &
sleep 0.5
rps() { wrk -t1 -c32 -d8s "$1" | awk '/Requests\/sec/{print $2}'; }
a=$(rps "${url}api/v1/devices/1")
b=$(rps "http://127.0.0.1:$nport/live.json")
printf '%-34s %12s\n' "appcored /api/v1/devices/1" "$a req/s"
printf '%-34s %12s\n' "nginx, static file of $size bytes" "$b req/s"
printf 'ratio: %.2f of nginx (target >= 0.5); wrk -t1 -c32 -d8s, keep-alive\n' "$(echo "$a / $b" | bc -l)"
kill %nginx 2>/dev/null || kill "$(cat "$tmp/nginx.pid")"

echo
echo "== Live stream latency in Chromium, 100 Hz, 10 s"
node bench/sse_latency.mjs "$url" 10
echo "(target: p99 under 50 ms; add up to one sample period, 10 ms, between"
echo " a change and the sample that sees it to the capture figure)"
kill -TERM $dpid; wait $dpid || true

echo
echo "== 200 stream clients while ingesting 64 counters at 1 kHz (15 s)"
start_demo c "--rate 1000 --counters 64 --duration 18 --truth $tmp/truth"
python3 bench/sse_clients.py 127.0.0.1 "$port" 200 15
sleep 4
kill -TERM $dpid; wait $dpid || true
python3 tests/integration/check_db.py "$tmp/c/appcore.db" sim-0 "$tmp/truth" --no-loss-events | tail -8
