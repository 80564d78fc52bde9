#!/usr/bin/env python3
"""A link that goes bad: forwards TCP between a host and appcore-sim,
flipping bits and injecting garbage on the way to the host.

usage: corrupt_proxy.py LISTEN_PORT TARGET_PORT SEED
Prints "proxy: listening PORT" once ready; runs until the target closes."""
import random
import select
import socket
import sys

listen_port, target_port, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(1)
print("proxy: listening %d" % srv.getsockname()[1], flush=True)
host, _ = srv.accept()
up = socket.create_connection(("127.0.0.1", target_port))
flips = garbage = 0
while True:
    r, _, _ = select.select([host, up], [], [])
    if up in r:
        data = up.recv(65536)
        if not data:
            break
        b = bytearray(data)
        if rng.random() < 0.05:          # a bit error in this chunk
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            flips += 1
        if rng.random() < 0.02:          # noise on the line
            b[rng.randrange(len(b) + 1):0] = bytes(
                rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            garbage += 1
        host.sendall(bytes(b))
    if host in r:
        data = host.recv(65536)
        if not data:
            break
        up.sendall(data)
print("proxy: %d bit flips, %d garbage bursts" % (flips, garbage), flush=True)
