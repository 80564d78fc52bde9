#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: prints each datagram.
usage: notify_listen.py SOCKET_PATH  (runs until killed)"""
import os
import socket
import sys

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("listening", flush=True)
while True:
    data = s.recv(4096).decode(errors="replace")
    for line in data.splitlines():
        print(line, flush=True)
