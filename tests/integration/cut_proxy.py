#!/usr/bin/env python3
"""A slow link that can be cut: forwards TCP between a host and appcore-sim
at RATE bytes/s towards the host.  SIGUSR1 cuts both connections, refuses
the host for DOWN seconds, then takes the next host and connects to the
target again (the simulator takes one host at a time).  When the host or
the target goes away, the next host that connects gets a new connection
to the target.  Runs until killed.

usage: cut_proxy.py LISTEN_PORT TARGET_PORT RATE DOWN
Prints "proxy: listening PORT", then "proxy: cut" and "proxy: up" lines."""
import select
import signal
import socket
import sys
import time

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
rate, down = int(sys.argv[3]), float(sys.argv[4])
cut = False


def recv(sock):
    """What the socket has, or b"" when its peer is gone."""
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def on_usr1(sig, frame):
    global cut
    cut = True


signal.signal(signal.SIGUSR1, on_usr1)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(1)
print("proxy: listening %d" % srv.getsockname()[1], flush=True)
while True:
    try:
        host, _ = srv.accept()
    except InterruptedError:
        continue
    up = socket.create_connection(("127.0.0.1", target_port))
    print("proxy: up", flush=True)
    pending = b""
    budget, last = 0.0, time.monotonic()
    target_gone = host_gone = False
    while not cut and not target_gone and not host_gone:
        r, _, _ = select.select([host, up], [], [], 0.01)
        if up in r:
            data = recv(up)
            if not data:
                target_gone = True
            pending += data
        if host in r:
            data = recv(host)
            if not data:
                host_gone = True
            else:
                try:
                    up.sendall(data)
                except OSError:
                    target_gone = True
        now = time.monotonic()
        budget = min(budget + (now - last) * rate, rate / 10)
        last = now
        n = int(budget)
        if n > 0 and pending and not host_gone:
            try:
                host.sendall(pending[:n])
            except OSError:     # the host died (SIGKILL): a reset or EPIPE
                host_gone = True
                continue
            budget -= min(n, len(pending))
            pending = pending[n:]
    host.close()
    up.close()
    # The host went away, or the target dropped us (the simulator takes
    # one host at a time and may not yet have seen the last one go): wait
    # for the host to connect again.
    if host_gone or target_gone:
        print("proxy: %s gone" % ("host" if host_gone else "target"), flush=True)
        continue
    cut = False
    print("proxy: cut", flush=True)
    # Refuse the host for a while: a listener that does not accept.
    time.sleep(down)
