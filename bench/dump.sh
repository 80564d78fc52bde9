#!/bin/bash
# Crash-dump transfer over a link as fast as a 921600-baud UART (92 160
# bytes/s through a rate-limiting proxy), next to the same proxy carrying
# 128 KiB of plain bytes in the same invocation.  Prints figures only.
#   bench/dump.sh BUILDDIR
set -euo pipefail
bdir=$1
here=$(cd "$(dirname "$0")/.." && pwd)
rate=92160
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$tmp"' EXIT
proxy=$here/tests/integration/cut_proxy.py

echo "== Crash dump of 128 KiB over a 921600-baud link ($rate B/s), 100 Hz x 16 counters alongside"
# Baseline: the proxy alone, 131072 bytes from a plain sender.
python3 - "$proxy" "$rate" > "$tmp/base" <<'PY'
import socket, subprocess, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
port = srv.getsockname()[1]
p = subprocess.Popen([sys.executable, sys.argv[1], "0", str(port), sys.argv[2], "1"],
                     stdout=subprocess.PIPE, text=True)
pport = int(p.stdout.readline().split()[-1])
c = socket.create_connection(("127.0.0.1", pport))
up, _ = srv.accept()
t0 = time.time()
up.sendall(bytes(131072))
got = 0
while got < 131072:
    got += len(c.recv(65536))
print("%.3f" % (time.time() - t0))
p.kill()
PY
base=$(cat "$tmp/base")
"$bdir/firmware-agent/port/posix/appcore-sim" --link tcp:0 --rate 100 \
    --counters 16 --panic-after 3 --duration 60 --quiet > "$tmp/sim.out" &
for _ in $(seq 50); do grep -q 'link tcp' "$tmp/sim.out" && break; sleep 0.1; done
sport=$(grep -o '127.0.0.1:[0-9]*' "$tmp/sim.out" | head -1 | cut -d: -f2)
python3 "$proxy" 0 "$sport" "$rate" 1 > "$tmp/proxy.out" &
for _ in $(seq 50); do grep -q listening "$tmp/proxy.out" && break; sleep 0.1; done
pport=$(sed -n 's/proxy: listening //p' "$tmp/proxy.out")
"$bdir/daemon/appcored" --state-dir "$tmp/s" --user root --no-autodetect \
    --listen 127.0.0.1:0 --socket "$tmp/s.sock" --snapshot-interval 0 \
    --port "tcp://127.0.0.1:$pport" > /dev/null 2> "$tmp/d.err" &
for _ in $(seq 300); do grep -q "crash dump:" "$tmp/d.err" && break; sleep 0.1; done
detail=$(sed -n 's/.*crash dump: //p' "$tmp/d.err")
xfer=$(echo "$detail" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
printf '%-34s %10s\n' "" "seconds"
printf '%-34s %10s\n' "128 KiB of plain bytes (baseline)" "$base"
printf '%-34s %10s\n' "crash dump, offer to verified" "$xfer"
printf 'ratio dump / baseline: %.2f (%s)\n' "$(echo "$xfer / $base" | bc -l)" "$detail"
echo "(the dump shares the link with the sample stream and waits for the"
echo " host's acknowledgements, at most 8 chunks of 768 bytes ahead)"
