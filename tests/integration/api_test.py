#!/usr/bin/python3
"""appcored's HTTP API against the real daemon and simulator: every
endpoint, every documented error, each JSON response validated against
web/openapi.json; hostile input.  TAP output.

usage: api_test.py APPCORED OPENAPI_JSON"""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openapi_check import Spec  # noqa: E402

appcored, spec_path = sys.argv[1], sys.argv[2]
spec = Spec(spec_path)


n = failed = 0


def check(ok, what):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print("%sok %d - %s" % ("" if ok else "not ", n, what), flush=True)
    return ok


def validate(path, method, status, body):
    return spec.problem(path, method, status, body)


tmp = tempfile.mkdtemp()
# The simulated core 1 reports this file's hash as its image: an image
# nobody registered (the demo registers only the one it picks itself),
# so the report starts without names.
with open(tmp + "/image.bin", "wb") as f:
    f.write(b"a core-1 image no ELF matches")
proc = subprocess.Popen(
    [appcored, "--demo", "--state-dir", tmp + "/state", "--user", "root",
     "--listen", "127.0.0.1:0", "--socket", tmp + "/appcored.sock",
     "-o", "http.stream_lag=200", "--sim-args",
     "--rate 200 --counters 16 --panic-after 8 --duration 45 --image " +
     tmp + "/image.bin"],
    stdout=subprocess.PIPE, stderr=open(tmp + "/d.err", "w"), text=True)
url = None
for line in proc.stdout:
    m = re.search(r"dashboard on (http://[^/]+)/", line)
    if m:
        url = m.group(1)
        break
u = urllib.parse.urlsplit(url)
host, port = u.hostname, u.port
token = open(tmp + "/state/api-token").read().strip()


def call(method, path, body=None, headers=None, validate_schema=True):
    c = http.client.HTTPConnection(host, port, timeout=10)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    ctype = r.getheader("Content-Type", "")
    parsed = json.loads(raw) if ctype.startswith("application/json") and raw else raw
    if validate_schema and path.startswith("/api/"):
        problem = validate(path, method, r.status, parsed) if isinstance(parsed, (dict, list)) or \
            r.status >= 400 else None
        if problem:
            check(False, "%s %s: %s" % (method, path, problem))
    return r.status, r, parsed


def raw_request(data, source=None):
    s = socket.create_connection((host, port), timeout=5,
                                 source_address=(source, 0) if source else None)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and len(out) > 20:
                break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def status_of(resp):
    m = re.match(rb"HTTP/1\.[01] (\d+)", resp)
    return int(m.group(1)) if m else 0


def wait_for(pred, secs):
    end = time.time() + secs
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


try:
    check(url is not None, "the demo prints its URL: %s" % url)
    check(wait_for(lambda: call("GET", "/api/v1/devices/1", validate_schema=False)[0] == 200 and
                   call("GET", "/api/v1/devices/1", validate_schema=False)[2]["counters_count"] == 16, 10),
          "the simulated board is up with 16 counters")
    time.sleep(1.5)

    # ---- devices ----
    st, _, b = call("GET", "/api/v1/devices")
    check(st == 200 and b["devices"][0]["name"] == "sim-0" and b["devices"][0]["connected"],
          "GET /devices lists sim-0, connected")
    st, _, b = call("GET", "/api/v1/devices/1")
    frames = [c for c in b["counters"] if c["name"] == "audio.frames"][0]
    check(st == 200 and b["state"] == "running" and 150 < b["heartbeat_rate"] < 1200
          and 40000 < frames["rate"] < 56000 and b["link_health"]["crc_errors"] == 0,
          "GET /devices/1: running, heartbeat %.0f/s, frames %.0f/s" % (b["heartbeat_rate"], frames["rate"]))
    for path in ("/api/v1/devices/99", "/api/v1/devices/0", "/api/v1/devices/abc",
                 "/api/v1/devices/1/nothing", "/api/v1/nothing", "/api/v2/devices"):
        st, _, b = call("GET", path, validate_schema=path.startswith("/api/v1/devices/9"))
        check(st == 404 and b["error"]["code"] == "not_found", "GET %s: 404 not_found" % path)

    # ---- history ----
    now = int(time.time() * 1e6)
    for step, src, span in ((1000, "raw", 5000000), (1000000, "1s", 120000000),
                            (60000000, "1m", 600000000)):
        st, _, b = call("GET", "/api/v1/devices/1/counters/0/history?from=%d&to=%d&step=%d"
                        % (now - span, now + 1000000, step))
        check(st == 200 and b["source"] == src and len(b["points"]) > 0,
              "history with step %d us comes from %s (%d points)" % (step, src, len(b.get("points", []))))
    st, _, b = call("GET", "/api/v1/devices/1/counters/1/history")
    check(st == 200 and len(b["points"]) > 0, "history with default range and step")
    for q, what in (("from=10&to=5", "from after to"), ("step=10", "step below 1 ms"),
                    ("from=abc", "a non-number"), ("from=1e5", "an exponent"),
                    ("step=-1", "a negative step"), ("from=0&to=100000000000&step=1000", "too many points"),
                    ("to=%00", "a NUL byte")):
        st, _, b = call("GET", "/api/v1/devices/1/counters/0/history?" + q)
        check(st == 400 and b["error"]["code"] == "bad_parameter", "history with %s: 400" % what)
    st, _, b = call("GET", "/api/v1/devices/1/counters/99/history")
    check(st == 404, "history of a counter the device lacks: 404")
    st, _, b = call("GET", "/api/v1/devices/1/counters/200/history", validate_schema=False)
    check(st == 404, "history of counter 200: 404")

    # ---- events, logs ----
    st, _, b = call("GET", "/api/v1/devices/1/events?limit=50")
    check(st == 200 and any(e["kind"] == "boot" for e in b["events"]), "events include the boot")
    st, _, b = call("GET", "/api/v1/devices/1/logs")
    check(st == 200 and any(l["text"].startswith("core1 up") for l in b["logs"]), "logs include core 1's first line")
    for q in ("limit=0", "limit=5000", "from=x", "kind=", "kind=Boot", "kind=boot,,x",
              "kind=a,b,c,d,e,f,g,h,i", "kind=boot%27--"):
        st, _, b = call("GET", "/api/v1/devices/1/events?" + q)
        check(st == 400, "events?%s: 400" % q)
    st, _, b = call("GET", "/api/v1/devices/1/events?limit=1000&kind=boot,link-up")
    check(st == 200 and b["events"] and {e["kind"] for e in b["events"]} <= {"boot", "link-up"}
          and any(e["kind"] == "boot" for e in b["events"]), "events?kind=boot,link-up: only those kinds")

    # ---- the daemon's own facts ----
    st, _, b = call("GET", "/api/v1/status")
    check(st == 200 and b["version"] == "0.1.0" and b["devices"] == 1 and b["connected"] == 1
          and b["database"] == tmp + "/state/appcore.db" and b["url"] == url + "/"
          and b["socket"] == tmp + "/appcored.sock" and 0 < b["uptime_s"] < 600,
          "status: version, uptime, database, URL, socket, boards")
    st, _, b = call("GET", "/api/v1/devices/42/logs")
    check(st == 404, "logs of an unknown device: 404")

    # ---- snapshot ----
    check(wait_for(lambda: call("GET", "/api/v1/devices/1/snapshot", validate_schema=False)[0] == 200, 10),
          "a snapshot is taken")
    st, _, b = call("GET", "/api/v1/devices/1/snapshot?offset=0&length=64")
    check(st == 200 and b["header"]["magic_ok"] and b["bytes_hex"].startswith("41433152")
          and len(b["bytes_hex"]) == 128 and b["size"] == 131072,
          "snapshot: header decoded, bytes start with the magic AC1R")
    check(b["panic"] is not None and b["panic"]["seq"] == 0 and not b["panic"]["complete"],
          "snapshot: the panic record decoded, never written yet (seq 0)")
    for q in ("offset=131072", "length=0", "length=5000", "offset=131000&length=100"):
        st, _, b = call("GET", "/api/v1/devices/1/snapshot?" + q)
        check(st == 400, "snapshot?%s: 400" % q)

    # ---- a live read through the agent ----
    st, _, b = call("GET", "/api/v1/devices/1/memory?offset=0&length=16")
    check(st == 200 and b["bytes_hex"].startswith("41433152") and b["length"] == 16,
          "a live read returns the region's magic")
    st, _, b = call("GET", "/api/v1/devices/1/memory?offset=64&length=4096")
    check(st == 200 and len(b["bytes_hex"]) == 8192, "a live read of 4096 bytes")
    for q in ("offset=131070&length=8", "length=0", "length=4097", "offset=-1", "offset=x"):
        st, _, b = call("GET", "/api/v1/devices/1/memory?" + q)
        check(st == 400, "memory?%s: 400" % q)
    st, _, b = call("GET", "/api/v1/devices/5/memory")
    check(st == 404, "a live read of an unknown device: 404")

    # ---- control ----
    st, r, b = call("POST", "/api/v1/devices/1/restart")
    check(st == 401 and r.getheader("WWW-Authenticate", "").startswith("Bearer"),
          "POST without a token: 401 with WWW-Authenticate")
    st, _, b = call("POST", "/api/v1/devices/1/restart", headers={"Authorization": "Bearer " + "0" * 64})
    check(st == 401, "POST with a wrong token: 401")
    auth = {"Authorization": "Bearer " + token}
    st, _, b = call("POST", "/api/v1/devices/1/rate", body=b"{hz: 5", headers=auth)
    check(st == 400 and b["error"]["code"] == "bad_json", "rate with invalid JSON: 400 bad_json")
    for body in ({"hz": 0}, {"hz": 1001}, {"hz": "fast"}, [500], {}):
        st, _, b = call("POST", "/api/v1/devices/1/rate", body=body, headers=auth)
        check(st == 400, "rate %s: 400" % json.dumps(body))
    st, _, b = call("POST", "/api/v1/devices/1/rate", body={"hz": 500}, headers=auth)
    check(st == 202 and b["command"] == "set-rate", "rate 500: 202 queued")
    check(wait_for(lambda: call("GET", "/api/v1/devices/1", validate_schema=False)[2]["rate_hz"] == 500, 5),
          "the board now samples at 500 Hz")
    st, _, b = call("POST", "/api/v1/devices/1/restart-policy", body={"policy": "always"})
    check(st == 401, "restart-policy without the token: 401")
    for body in ({"policy": "sometimes"}, {"policy": "limit"}, {"policy": "limit", "max": 17},
                 {"policy": "limit", "max": "3"}, {}, [1]):
        st, _, b = call("POST", "/api/v1/devices/1/restart-policy", body=body, headers=auth)
        check(st == 400, "restart-policy %s: 400" % json.dumps(body))
    st, _, b = call("POST", "/api/v1/devices/1/restart-policy", body={"policy": "limit", "max": 3},
                    headers=auth)
    check(st == 202 and b["command"] == "set-restart", "restart-policy limit 3: 202 queued")
    check(wait_for(lambda: any(e["kind"] == "restart-policy" and e["detail"] == "at most 3 an hour"
                               for e in call("GET", "/api/v1/devices/1/events?limit=50",
                                             validate_schema=False)[2]["events"]), 5),
          "the agent took it: an event says 'at most 3 an hour'")
    st, _, b = call("POST", "/api/v1/devices/1/restart-policy", body={"policy": "never"}, headers=auth)
    check(st == 202, "restart-policy never: 202 (the crash later in this test stays stopped)")
    st, _, b = call("POST", "/api/v1/devices/1/snapshot", headers=auth)
    check(st == 202, "snapshot now: 202")
    control = lambda: call("GET", "/api/v1/devices/1/events?limit=50&kind=control",
                           validate_schema=False)[2]["events"]
    check(wait_for(lambda: len(control()) == 4, 5)
          and [e["detail"].split(", asked by ")[0] for e in reversed(control())] ==
          ["set the sample rate to 500 Hz (was 200 Hz)", "set the restart policy to at most 3 restarts an hour",
           "set the restart policy to never", "take a snapshot of the region"]
          and all(e["detail"].endswith(", asked by 127.0.0.1 through the API") for e in control()),
          "every control request accepted is a 'control' event: what, and who asked (%s)"
          % (control()[0]["detail"] if control() else "none"))
    st, _, b = call("POST", "/api/v1/devices/77/restart", headers=auth)
    check(st == 404, "control of an unknown device: 404")
    st, _, b = call("POST", "/api/v1/devices/1/selfdestruct", headers=auth, validate_schema=False)
    check(st == 404, "an unknown action: 404")
    st, _, b = call("POST", "/api/v1/devices/1/rate", body=b"x" * 100000, headers=auth)
    check(st == 413, "a 100 kB body: 413")
    for m in ("DELETE", "PUT", "PATCH"):
        st, _, b = call(m, "/api/v1/devices", validate_schema=False)
        check(st == 405 and b["error"]["code"] == "method_not_allowed", "%s /devices: 405" % m)

    # ---- crashes (the simulator panics 8 s in) ----
    check(wait_for(lambda: len(call("GET", "/api/v1/crashes", validate_schema=False)[2]["crashes"]) > 0, 12),
          "the panic shows up in /crashes")
    st, _, b = call("GET", "/api/v1/crashes?device=1&limit=10")
    cid = b["crashes"][0]["id"]
    check(st == 200 and b["crashes"][0]["reason"] == "assert", "crash list: an assert")
    st, _, b = call("GET", "/api/v1/crashes/%d" % cid)
    check(st == 200 and b["file"] == "dsp/mixer.c" and b["line"] == 217 and len(b["backtrace"]) == 5
          and b["backtrace"][0] == 0x42002a1c, "crash detail: file, line, backtrace")
    check(wait_for(lambda: call("GET", "/api/v1/crashes/%d/dump" % cid, validate_schema=False)[0] == 200, 10),
          "the crash's dump becomes available")
    st, r, b = call("GET", "/api/v1/crashes/%d/dump" % cid)
    check(st == 200 and len(b) == 131072 and b[:4] == b"AC1R" and b[64] == 3 and
          "attachment" in r.getheader("Content-Disposition", ""),
          "the dump is the region as core 1 left it (state panicked), as a download")
    raw = b
    st, r, b = call("GET", "/api/v1/crashes/%d/dump?format=elf" % cid)
    with open(tmp + "/core.elf", "wb") as f:
        f.write(b)
    ro = subprocess.run(["xtensa-lx106-elf-readelf", "-h", "-l", "-n", tmp + "/core.elf"],
                        capture_output=True, text=True)
    check(st == 200 and ro.returncode == 0 and re.search(r"Type:\s+CORE", ro.stdout)
          and "Tensilica Xtensa" in ro.stdout and re.search(r"NT_PRSTATUS", ro.stdout)
          and re.search(r"CORE\s+0x0000024c", ro.stdout)
          and re.search(r"LOAD\s+0x[0-9a-f]+ 0x3fcc9710 0x3fcc9710 0x20000 0x20000 RW", ro.stdout),
          "format=elf: readelf sees an Xtensa core, NT_PRSTATUS of 588 bytes, a PT_LOAD at 0x3fcc9710")
    import struct
    phnum = struct.unpack_from("<H", b, 44)[0]
    loads = [struct.unpack_from("<8I", b, 52 + 32 * i) for i in range(phnum)]
    load = [ph for ph in loads if ph[0] == 1][0]
    check(b[load[1]:load[1] + load[4]] == raw, "the PT_LOAD bytes equal the raw dump")
    note = [ph for ph in loads if ph[0] == 4][0]
    pc = struct.unpack_from("<I", b, note[1] + 20 + 72)[0]
    a1 = struct.unpack_from("<I", b, note[1] + 20 + 72 + 65 * 4)[0]
    crash = call("GET", "/api/v1/crashes/%d" % cid, validate_schema=False)[2]
    check(pc == crash["pc"] and a1 == crash["sp"], "the note's pc and a1 are the crash's pc and sp")
    check(crash["reason"] == "assert" and crash["exccause"] is None and crash["exccause_name"] is None
          and crash["excvaddr"] is None, "an assert is no exception: exccause, its name and excvaddr are null")
    st, _, b = call("GET", "/api/v1/crashes/%d/dump?format=json" % cid)
    check(st == 200 and b["regions"][0]["address"] == 0x3fcc9710 and len(b["a"]) == 16,
          "format=json: registers and regions")
    st, _, b = call("GET", "/api/v1/crashes/%d/report" % cid)
    check(st == 200 and b["crash"]["id"] == cid and b["crash"]["reason"] == "assert",
          "report: the crash")
    check(st == 200 and b["states"] and b["states"][-1]["state"] == "panicked"
          and b["states"][-1]["prev"] == "running", "report: core 1's states end running -> panicked")
    ct = b["crash"]["t"]
    ok = len(b["counters"]) == 16 and all(
        k["points"] and all(ct - 10100000 < p[0] <= ct and p[1] <= p[3] <= p[2] and p[4] > 0
                            for p in k["points"]) for k in b["counters"])
    check(ok, "report: all 16 counters, 100 ms buckets within the 10 s before the crash")
    frames = [k for k in b["counters"] if k["name"] == "audio.frames"][0]["points"]
    check(all(frames[i][2] <= frames[i + 1][1] for i in range(len(frames) - 1)),
          "report: a monotonic counter's buckets do not go back")
    d = b["region_diff"]
    check(d["available"] and d["size"] == len(raw) and d["changed_bytes"] > 0 and d["before_t"] < ct <= d["after_t"],
          "report: the region diffed against the snapshot before the crash (%s bytes changed)"
          % d.get("changed_bytes"))
    check(all(bytes.fromhex(g["after"]) == raw[g["offset"]:g["offset"] + min(g["length"], 64)]
              and g["address"] == d["region_base"] + g["offset"] and g["before"] != g["after"]
              for g in d["ranges"]) and d["ranges"],
          "report: every changed range's bytes are the dump's")
    check(any(g["offset"] <= 64 < g["offset"] + g["length"] for g in d["ranges"]),
          "report: the header's core-1 state (offset 64) is among the changes")
    check(b["crash"]["dump_sha256"] == hashlib.sha256(raw).hexdigest() and b["crash"]["dump_size"] == len(raw),
          "the crash names its dump's SHA-256 and size")
    sy = b["symbols"]
    check(not sy["available"] and "no core-1 ELF" in sy["why"] and sy["pc"]["address"] == crash["pc"]
          and [f["address"] for f in sy["backtrace"]] == crash["backtrace"],
          "report: no ELF uploaded, so addresses only, and why")

    # ---- core-1 ELF images ----
    elf_path = os.path.join(tmp, "core1.elf")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "firmware-agent", "port", "posix")
    subprocess.run(["xtensa-lx106-elf-gcc", "-g", "-ffunction-sections", "-ffreestanding", "-nostdlib",
                    "-mtext-section-literals", "-T", os.path.join(src, "core1_image.ld"),
                    os.path.join(src, "core1_image.c"), "-o", elf_path], check=True)
    elf = open(elf_path, "rb").read()
    octet = {"Content-Type": "application/octet-stream"}
    st, _, b = call("POST", "/api/v1/images?name=core1.elf", elf, headers=octet)
    check(st == 401, "POST /images without the token: 401")
    st, _, b = call("POST", "/api/v1/images", b"", headers=dict(auth, **octet))
    check(st == 400 and b["error"]["code"] == "empty_body", "an empty upload: 400")
    st, _, b = call("POST", "/api/v1/images", b"#!/bin/sh\necho hi\n", headers=dict(auth, **octet))
    check(st == 422 and b["error"]["code"] == "bad_elf" and "not an ELF" in b["error"]["message"],
          "a shell script: 422, not an ELF")
    st, _, b = call("POST", "/api/v1/images", open("/bin/true", "rb").read(), headers=dict(auth, **octet))
    check(st == 422 and "Xtensa" in b["error"]["message"], "an x86-64 ELF: 422, not Xtensa")
    st, _, b = call("POST", "/api/v1/images", elf[:300], headers=dict(auth, **octet))
    check(st == 422, "a truncated ELF: 422 (%s)" % (b["error"]["message"] if st == 422 else st))
    st, _, b = call("POST", "/api/v1/images?crash=%d" % cid, elf, headers=dict(auth, **octet))
    check(st == 409 and b["error"]["code"] == "image_mismatch",
          "an ELF that is not the image the crash ran is refused: 409")
    st, _, b = call("POST", "/api/v1/images?crash=9999", elf, headers=dict(auth, **octet))
    check(st == 404, "?crash= an unknown crash: 404")
    st, _, b = call("POST", "/api/v1/images?name=core1.elf", elf, headers=dict(auth, **octet))
    check(st == 201 and b["sha256"] == hashlib.sha256(elf).hexdigest() and b["functions"] == 5
          and b["dwarf"] and b["crashes"] == 0, "a core-1 ELF: 201, 5 functions, DWARF")
    stored = tmp + "/state/images/%s.elf" % hashlib.sha256(elf).hexdigest()
    check(os.path.exists(stored) and open(stored, "rb").read() == elf,
          "stored as a file named by its SHA-256, not in gdbm")
    st, _, b = call("GET", "/api/v1/images")
    check(st == 200 and [i["name"] for i in b["images"]] == ["core1.elf"], "GET /images lists it")
    st, _, b = call("GET", "/api/v1/crashes/%d/report" % cid)
    check(st == 200 and not b["symbols"]["available"], "and it is not used for a crash that ran another image")
    big = elf + bytes(200 * 1024)
    st, _, b = call("POST", "/api/v1/images?name=big.elf", big, headers=octet)
    check(st == 401, "a 200 KiB upload without the token: 401, on its headers")
    resp = raw_request(b"POST /api/v1/images?name=big.elf HTTP/1.1\r\nHost: localhost\r\n"
                       b"Authorization: Bearer " + token.encode() +
                       b"\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (65 << 20))
    check(status_of(resp) == 413, "a 65 MiB upload with the token: 413 on its headers "
          "(ELF uploads are 64 MiB) (%d)" % status_of(resp))
    st, _, b = call("POST", "/api/v1/images?name=big.elf", big, headers=dict(auth, **octet))
    check(st == 201 and b["size"] == len(big), "with the token: 201 (ELF uploads may be 64 MiB)")
    st, _, b = call("GET", "/api/v1/devices/1", validate_schema=False)
    check(st == 200, "the daemon is still serving after the uploads")

    st, _, b = call("GET", "/api/v1/crashes/9999/report")
    check(st == 404, "the report of an unknown crash: 404")
    st, _, b = call("GET", "/api/v1/crashes/%d/dump?format=zip" % cid)
    check(st == 400, "format=zip: 400")
    st, _, b = call("GET", "/api/v1/crashes/9999")
    check(st == 404, "an unknown crash: 404")
    st, _, b = call("GET", "/api/v1/crashes/9999/dump")
    check(st == 404, "the dump of an unknown crash: 404")
    st, _, b = call("GET", "/api/v1/crashes?limit=-1")
    check(st == 400, "crashes?limit=-1: 400")

    # ---- metrics, health, static ----
    st, r, b = call("GET", "/metrics")
    text = b.decode()
    check(st == 200 and r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
          and re.search(r'^appcore_core1_total\{board="sim-0",name="audio.frames",unit="frames"\} \d+$', text, re.M)
          and re.search(r'^appcore_core1_ratio\{board="sim-0",name="dsp.load"\} [0-9.e-]+$', text, re.M)
          and 'appcore_core1_state{board="sim-0",state="panicked"} 1' in text
          and re.search(r"^appcored_samples_stored_total \d+$", text, re.M),
          "/metrics: counters, core-1 state, daemon figures")
    st, _, b = call("GET", "/healthz")
    check(st == 200 and b == b"ok\n", "/healthz: ok")
    st, r, b = call("GET", "/")
    check(st == 200 and r.getheader("Content-Type").startswith("text/html")
          and "default-src 'self'" in r.getheader("Content-Security-Policy", "")
          and r.getheader("Access-Control-Allow-Origin") is None, "/ serves the dashboard, with a CSP, no CORS")
    st, r, b = call("GET", "/openapi.json")
    etag = r.getheader("ETag")
    check(st == 200 and b["openapi"].startswith("3."), "/openapi.json served")
    st, r, b = call("GET", "/openapi.json", headers={"If-None-Match": etag})
    check(st == 304, "If-None-Match: 304")

    # ---- the live stream ----
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", "/api/v1/stream")
    r = c.getresponse()
    buf = b""
    while len(re.findall(rb"^id: \d+$", buf, re.M)) < 4:
        buf += r.read1(65536)
    c.close()
    ids = [int(x) for x in re.findall(rb"^id: (\d+)$", buf, re.M)]
    check(r.status == 200 and r.getheader("Content-Type") == "text/event-stream" and len(ids) >= 3
          and b"event: sample" in buf and ids == sorted(ids), "the stream sends events with increasing ids")
    last = ids[0]
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", "/api/v1/stream", headers={"Last-Event-ID": str(last)})
    r = c.getresponse()
    buf = b""
    while b"id: " not in buf:
        buf += r.read1(65536)
    c.close()
    first = int(re.search(rb"^id: (\d+)$", buf, re.M).group(1))
    check(first == last + 1, "Last-Event-ID %d resumes at %d" % (last, first))
    st, _, b = call("GET", "/api/v1/stream?device=abc")
    check(st == 400, "stream?device=abc: 400")

    # ---- the unix socket (for appcorectl) ----
    us = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    us.connect(tmp + "/appcored.sock")
    us.sendall(b"GET /api/v1/devices HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
    resp = b""
    while True:
        chunk = us.recv(65536)
        if not chunk:
            break
        resp += chunk
    us.close()
    check(status_of(resp) == 200 and b'"sim-0"' in resp and
          oct(os.stat(tmp + "/appcored.sock").st_mode & 0o777) == "0o660",
          "the API answers on the unix socket (mode 0660)")

    # ---- a stuck stream client is dropped; the others go on ----
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    stuck.connect((host, port))
    stuck.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
    good = socket.create_connection((host, port), timeout=1)
    good.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got = []
    dropped_at = None
    t0 = time.time()

    def drops():
        m = re.search(r"^appcored_stream_clients_dropped_total (\d+)$",
                      call("GET", "/metrics")[2].decode(), re.M)
        return int(m.group(1)) if m else 0

    base = drops()
    next_poll = 0
    while time.time() - t0 < 40 and dropped_at is None:
        try:
            got.append((time.time() - t0, good.recv(65536).count(b"\nid: ")))
        except socket.timeout:
            pass
        if time.time() > next_poll:
            next_poll = time.time() + 0.5
            if drops() > base:
                dropped_at = time.time() - t0
    late = sum(c for t, c in got if t > 5)
    check(dropped_at is not None, "a client that stopped reading is dropped (%.1f s), and counted"
          % (dropped_at or -1))
    check(late > 50, "a healthy client kept receiving meanwhile (%d events after 5 s)" % late)
    # The server's FIN waits behind what it had sent; read it all.
    stuck.settimeout(5)
    ended = False
    try:
        while True:
            if not stuck.recv(65536):
                ended = True
                break
    except (socket.timeout, ConnectionResetError):
        ended = isinstance(sys.exc_info()[1], ConnectionResetError)
    check(ended, "its connection ends")
    stuck.close()
    good.close()

    # ---- read-only SQL ----
    def q(sql, limit=None):
        path = "/api/v1/query?" + urllib.parse.urlencode(
            {"sql": sql, **({"limit": limit} if limit else {})})
        st, _, b = call("GET", path)
        return st, b
    st, b = q("SELECT name, id FROM devices ORDER BY id")
    check(st == 200 and b["columns"] == ["name", "id"] and b["rows"][0] == ["sim-0", 1]
          and b["truncated"] is False, "query: a SELECT answers columns and rows")
    st, b = q("SELECT count(*) FROM samples")
    check(st == 200 and b["rows"][0][0] > 0, "query: aggregate functions (%s samples)" %
          (b.get("rows") if st == 200 else b))
    st, b = q("SELECT x'00ff', NULL, 1.5, 'a'")
    check(st == 200 and b["rows"] == [["00ff", None, 1.5, "a"]], "query: blob as hex, null, real, text")
    st, b = q("SELECT t FROM samples", 3)
    check(st == 200 and len(b["rows"]) == 3 and b["truncated"] is True, "query: limit and truncated")
    before = q("SELECT count(*) FROM events")[1]["rows"][0][0]
    for bad in ("DELETE FROM events", "DROP TABLE events", "INSERT INTO events(t, kind) VALUES (1, 'x')",
                "ATTACH '%s/x.db' AS x" % tmp, "PRAGMA table_info(events)",
                "CREATE TEMP TABLE t(x)", "SELECT load_extension('/lib/x')",
                "SELECT 1; DELETE FROM events", "SELECT * FROM nosuch", "VACUUM"):
        st, b = q(bad)
        check(st == 400 and b["error"]["code"] == "bad_query", "query refused: %s (%s)" %
              (bad, b["error"]["message"] if st == 400 else st))
    check(not os.path.exists(tmp + "/x.db"), "query: ATTACH created no file")
    after = q("SELECT count(*) FROM events")[1]["rows"][0][0]
    check(after >= before, "query: nothing deleted (%d -> %d events)" % (before, after))
    st, b = q("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
    check(st == 400 and b["error"]["code"] == "query_timeout", "query: an endless one is stopped")
    st, _, _ = call("GET", "/api/v1/devices")
    check(st == 200, "the API answers after it")
    for bad in ("/api/v1/query", "/api/v1/query?sql=", "/api/v1/query?sql=SELECT+1&limit=0",
                "/api/v1/query?sql=SELECT+1&limit=10001"):
        st, _, b = call("GET", bad)
        check(st == 400 and b["error"]["code"] == "bad_parameter", "query: %s is a bad parameter" % bad)
    st, _, b = call("POST", "/api/v1/query?sql=SELECT+1", headers={"Authorization": "Bearer " + token},
                    validate_schema=False)
    check(st == 405, "query: POST is not allowed")

    # ---- hostile requests ----
    for p in (b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/..%2f..%2fetc%2fpasswd",
              b"/index.html/../../../../etc/passwd", b"//etc/passwd", b"/%00/etc/passwd",
              b"/..\\..\\etc\\passwd"):
        resp = raw_request(b"GET " + p + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        check(400 <= status_of(resp) < 500 and b"root:" not in resp,
              "traversal %s: %d" % (p.decode(), status_of(resp)))
    resp = raw_request(b"GET /api/v1/devices HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 65536 +
                       b"\r\nConnection: close\r\n\r\n")
    check(400 <= status_of(resp) < 500 or resp == b"", "a 64 kB header: refused (%d)" % status_of(resp))
    resp = raw_request(b"NONSENSE\r\n\r\n")
    check(400 <= status_of(resp) < 500 or resp == b"", "a broken request line: refused (%d)" % status_of(resp))

    # A flood of idle connections from another address: limited per
    # address; the daemon answers others and keeps ingesting.
    before = call("GET", "/api/v1/devices/1", validate_schema=False)[2]["last_sample_us"]
    flood = []
    refused = 0
    for i in range(300):
        try:
            s = socket.create_connection((host, port), timeout=2, source_address=("127.0.0.2", 0))
            flood.append(s)
        except OSError:
            refused += 1
    time.sleep(1.0)
    t0 = time.time()
    st, _, b = call("GET", "/healthz")
    took = time.time() - t0
    time.sleep(1.0)
    after = call("GET", "/api/v1/devices/1", validate_schema=False)[2]["last_sample_us"]
    open_ones = 0
    for s in flood:
        try:
            s.settimeout(0.01)
            if s.recv(1) != b"":
                open_ones += 1
        except socket.timeout:
            open_ones += 1
        except OSError:
            pass
        s.close()
    check(st == 200, "with 300 idle connections, /healthz still answers (%.3f s)" % took)
    check(open_ones <= 64, "at most 64 idle connections kept from one address (%d)" % open_ones)
    check(after > before, "ingest went on during the flood")
    check(proc.poll() is None, "appcored is still up")

    # ---- a board whose link is gone (the simulator stops at 45 s) ----
    check(wait_for(lambda: not call("GET", "/api/v1/devices/1", validate_schema=False)[2]["connected"], 40),
          "the board's link goes down when the simulator stops")
    st, _, b = call("POST", "/api/v1/devices/1/restart", headers=auth)
    check(st == 409 and b["error"]["code"] == "not_connected", "control of a disconnected board: 409")
    st, _, b = call("GET", "/api/v1/devices/1/memory")
    check(st == 409, "a live read of a disconnected board: 409")
    st, _, b = call("GET", "/api/v1/devices")
    check(st == 200 and not b["devices"][0]["connected"], "the device list says so")
finally:
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = -1
    check(rc == 0, "appcored stopped cleanly (%s)" % rc)
    if failed:
        sys.stdout.write("".join("# " + l for l in open(tmp + "/d.err").readlines()[-20:]))
    shutil.rmtree(tmp, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if failed else 0)
