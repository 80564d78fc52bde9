#!/usr/bin/env python3
"""Attaches N stream clients (spread over 127.0.0.2..5, 50 per address,
under the per-address limit) for SECONDS and reports what they received.
usage: sse_clients.py HOST PORT N SECONDS"""
import select
import socket
import sys
import time

host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=5,
                                 source_address=("127.0.0.%d" % (2 + i // 50), 0))
    s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
    s.setblocking(False)
    socks.append(s)
events = {s: 0 for s in socks}
closed = 0
end = time.time() + secs
while time.time() < end and socks:
    r, _, _ = select.select(socks, [], [], 0.5)
    for s in r:
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        if not data:
            socks.remove(s)
            closed += 1
            continue
        events[s] += data.count(b"\nid: ") + data.startswith(b"id: ")
try:
    import urllib.request
    m = urllib.request.urlopen("http://%s:%d/metrics" % (host, port), timeout=5).read().decode()
    attached = [l.split()[1] for l in m.splitlines() if l.startswith("appcored_stream_clients ")]
    print("stream clients appcored counts while attached: %s" % (attached[0] if attached else "?"))
except OSError as e:
    print("metrics: %s" % e)
counts = sorted(events.values())
print("clients %d, closed early %d, events per client: min %d, median %d, max %d"
      % (n, closed, counts[0], counts[len(counts) // 2], counts[-1]))
for s in socks:
    s.close()
