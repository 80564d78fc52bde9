#!/usr/bin/env python3
"""Seeds for fuzz_api: one request per route and method, and requests
with queries, headers and bodies (the input layout is fuzz_api.c's
build_request: method, route, flags, path tail, query parameters,
header, body).  usage: make_api_seeds.py DIR"""
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
ROUTES = 23
seeds = {}


def tail(b):
    return bytes([len(b)]) + b


for r in range(ROUTES):
    for m, flags in ((0, 0), (1, 4), (2, 0)):
        seeds["route%02d-m%d" % (r, m)] = bytes([m, r, flags]) + tail(b"") + \
            bytes([0])
# History with a range and a step; events with a limit; a query.
seeds["history-range"] = bytes([0, 2, 0]) + tail(b"") + bytes([3]) + \
    bytes([0]) + tail(b"0") + bytes([1]) + tail(b"9999999999999999") + \
    bytes([2]) + tail(b"1000000")
seeds["events-limit"] = bytes([0, 3, 0]) + tail(b"") + bytes([1, 3]) + \
    tail(b"5")
seeds["query"] = bytes([0, 12, 0]) + tail(b"") + bytes([1, 6]) + \
    tail(b"SELECT+name,+id+FROM+devices")
seeds["query-bad"] = bytes([0, 12, 0]) + tail(b"") + bytes([1, 6]) + \
    tail(b"SELECT+'\x01\xff'")
seeds["dump-json"] = bytes([0, 10, 0]) + tail(b"") + bytes([1, 9]) + \
    tail(b"json")
seeds["memory"] = bytes([0, 6, 0]) + tail(b"") + bytes([2, 4]) + \
    tail(b"0") + bytes([5]) + tail(b"64")
seeds["wrong-host"] = bytes([0, 0, 2]) + tail(b"") + bytes([0])
seeds["no-host"] = bytes([0, 0, 1]) + tail(b"") + bytes([0])
seeds["chunked"] = bytes([1, 13, 4 | 16 | 32]) + tail(b"") + bytes([0]) + \
    b"5\r\nhello\r\n0\r\n\r\n"
seeds["header"] = bytes([0, 1, 8]) + tail(b"") + bytes([0]) + \
    tail(b"\xff" * 40)
seeds["upload"] = bytes([1, 11, 4]) + tail(b"?name=x.elf") + bytes([0]) + \
    b"\x7fELF" + bytes(60)
seeds["short-body"] = bytes([1, 13, 4 | 64]) + tail(b"") + bytes([0]) + b"{}"
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
